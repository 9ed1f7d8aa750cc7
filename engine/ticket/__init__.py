"""The Ticket aggregate: its facts (state and events, :mod:`.facts`) and rules (:mod:`.rules`).

``Ticket`` is also reachable here because stores written before this package existed name the
aggregate's topic ``engine.ticket:Ticket``.
"""

from engine.ticket.facts import TicketEvent, TicketFacts, TicketOpened
from engine.ticket.rules import RESOLVED_BY_PARENT, UNSET, Ticket, Unset

__all__ = [
    "RESOLVED_BY_PARENT",
    "UNSET",
    "Ticket",
    "TicketEvent",
    "TicketFacts",
    "TicketOpened",
    "Unset",
]
