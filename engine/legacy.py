"""Names under which older stores recorded events, mapped to today's classes (upcasting).

Events are stored with the topic of their class (``module:Class``). When a class moves or is
renamed, eventsourcing's :func:`~eventsourcing.utils.register_topic` tells the mapper where
the old topic now lives. A *renamed* event keeps its old name on the events written under it
(a subclass with that name), so their type in exports and on NATS is what was recorded and
their format-1 hashes, which cover the type name, still check out.
"""

from __future__ import annotations

from eventsourcing.utils import register_topic

from engine.ticket import facts


class SlaTimerCancelled(facts.SlaTimerCanceled):
    """``SlaTimerCanceled`` as written before the one-spelling rule (``canceled``)."""


_MOVED_FROM_EVENTS_MODULE = (
    "TicketOpened",
    "Assigned",
    "WorkStarted",
    "PutOnHold",
    "Resumed",
    "Resolved",
    "Reopened",
    "Closed",
    "Canceled",
    "Reprioritized",
    "FunctionallyEscalated",
    "HierarchicallyEscalated",
    "CommentAdded",
    "MajorIncidentDeclared",
    "ChildLinked",
    "LinkedToParent",
    "CommunicationSent",
    "PostIncidentReviewRecorded",
    "ProblemLinked",
    "SlaTimerStarted",
    "SlaWarningReached",
    "SlaBreached",
)

_registered = False


def register_legacy_topics() -> None:
    """Teach the mapper the topics older stores used (idempotent)."""
    global _registered  # noqa: PLW0603 - a process-wide registry, filled once
    if _registered:
        return
    for name in _MOVED_FROM_EVENTS_MODULE:
        register_topic(f"engine.events:{name}", getattr(facts, name))
    register_topic("engine.events:SlaTimerCancelled", SlaTimerCancelled)
    _registered = True
