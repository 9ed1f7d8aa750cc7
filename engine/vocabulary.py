"""The words of the domain, one spelling each: kinds, states, channels, hold reasons, stages.

Every set of values a ticket field or an SLA timer can take is a :class:`~enum.StrEnum`: its
members are strings (they compare equal to, and serialise as, their value), so events, JSON
and the CLI keep plain text while the code names each value once. The one spelling is
American: ``canceled`` for a ticket and for an SLA timer alike.
"""

from __future__ import annotations

from enum import StrEnum


class TicketKind(StrEnum):
    INCIDENT = "incident"  # restore service
    SERVICE_REQUEST = "service_request"  # fulfil a standard request


class TicketState(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELED = "canceled"


class HoldReason(StrEnum):
    AWAITING_CALLER = "awaiting_caller"
    AWAITING_VENDOR = "awaiting_vendor"
    AWAITING_PROBLEM = "awaiting_problem"
    AWAITING_CHANGE = "awaiting_change"
    AWAITING_EVIDENCE = "awaiting_evidence"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    PORTAL = "portal"
    CHAT = "chat"
    WALK_IN = "walk_in"
    MONITORING = "monitoring"
    VIRTUAL_AGENT = "virtual_agent"


class Visibility(StrEnum):
    INTERNAL = "internal"  # a work note
    CUSTOMER = "customer"  # visible to the caller


class SlaKind(StrEnum):
    RESPONSE = "response"  # achieved when the ticket first leaves ``new``
    RESOLUTION = "resolution"  # stops at resolution, resumes on reopen


class SlaStage(StrEnum):
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    ACHIEVED = "achieved"
    BREACHED = "breached"
    CANCELED = "canceled"


def values(enum: type[StrEnum]) -> str:
    """``'a', 'b', 'c'`` — the valid values of ``enum`` for an error message or help text."""
    return ", ".join(member.value for member in enum)
