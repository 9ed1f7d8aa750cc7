"""Post-incident timelines (docs/reports.md): a ticket's events — for a major incident merged
with its children's — in time order, with the key intervals, as JSON and as the Markdown skeleton
of a post-incident report: who led it, when the impact started, was detected and was
mitigated, what it hit, what was said, and the review (root cause, contributing factors, what
went well, lessons, action items).

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
from projections.reading import ReadSide
from projections.rows import responded_at

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
        """The JSON form: the documented keys (docs/reports.md: ``ref``, ``children``,
        ``affected_users``, ``intervals``, ``entries``) and what a post-incident report is
        built from."""
        ticket = self.ticket
        return {
            "ref": ticket.ref,
            "title": ticket.title,
            "major": ticket.major,
            "state": str(ticket.state),
            "priority": ticket.priority,
            "opened_at": _iso(ticket.opened_at),
            "resolved_at": _iso(ticket.resolved_at),
            "commander": ticket.commander,
            "comms_lead": ticket.comms_lead,
            "children": list(self.children),
            "impact": {
                "started_at": _iso(ticket.impact_started_at),
                "detected_at": _iso(ticket.impact_detected_at),
                "mitigated_at": _iso(ticket.impact_mitigated_at),
            },
            "affected_services": list(ticket.affected_services),
            "affected_users": ticket.affected_users,
            "intervals": dict(self.intervals),
            "communications": [
                {
                    "occurred_at": sent.occurred_at.isoformat(),
                    "actor": sent.actor,
                    "audience": sent.audience,
                    "channel": sent.channel,
                    "message": sent.message,
                }
                for sent in self.communications
            ],
            "review": None if self.review is None else review_dict(self.review),
            "entries": [entry.as_dict() for entry in self.entries],
        }


def review_dict(review: ev.PostIncidentReviewRecorded) -> dict[str, Any]:
    """A review as the timeline's JSON carries it."""
    return {
        "reviewed_at": review.occurred_at.isoformat(),
        "actor": review.actor,
        "summary": review.summary,
        "root_cause": review.root_cause,
        "contributing_factors": list(review.contributing_factors),
        "went_well": list(review.went_well),
        "lessons": list(review.lessons),
        "actions": [dict(action) for action in review.actions],
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


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


def _between(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


def intervals(ticket: Ticket, as_of: datetime | None) -> dict[str, float | None]:
    """The key intervals, in seconds (None when an end is not known):

    * ``time_to_respond_seconds``: opening → first leaving ``new``;
    * ``time_on_hold_seconds``: every interval on hold, added up;
    * ``time_to_resolve_seconds``: opening → last resolution;
    * ``time_to_detect_seconds``: impact started → detected;
    * ``time_to_mitigate_seconds``: detected → mitigated (the response's part);
    * ``impact_duration_seconds``: impact started → mitigated (what users lived through).

    The last three come from the instants ``record_impact`` recorded on a major incident.
    """
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
        "time_to_detect_seconds": _between(ticket.impact_started_at, ticket.impact_detected_at),
        "time_to_mitigate_seconds": _between(ticket.impact_detected_at, ticket.impact_mitigated_at),
        "impact_duration_seconds": _between(ticket.impact_started_at, ticket.impact_mitigated_at),
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
        case ev.TicketDetailsUpdated():
            return "; ".join(
                f"{name} {_shown(event.previous.get(name))} → {_shown(value)}"
                for name, value in event.changes.items()
            )
        case ev.IncidentRolesAssigned():
            return f"commander {_shown(event.commander)}, comms lead {_shown(event.comms_lead)}"
        case ev.ImpactTimesRecorded():
            known = (
                ("started", event.started_at),
                ("detected", event.detected_at),
                ("mitigated", event.mitigated_at),
            )
            return ", ".join(f"{what} {at.isoformat()}" for what, at in known if at is not None)
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


def _shown(value: object) -> str:
    """A field's value in a detail: ``—`` for none, a list's items joined."""
    if value is None or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)
