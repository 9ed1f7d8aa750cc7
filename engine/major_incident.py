"""Major incidents and their children: the rules that span two tickets (docs/lifecycle.md).

A ticket only records events on itself, so a rule that touches a major incident and its
children is a policy the application service runs over both: each ticket checks its own side
and records its own event, inside one unit of work (all or nothing).

* Linking: the parent records ``ChildLinked`` (it must be a major incident and not the child
  itself), the child ``LinkedToParent`` (it must be an open incident, not major, unlinked).
* Resolving the parent resolves its open children with the code ``resolved_by_parent``.
* Reopening the parent reopens the children it resolved.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.chain import Stamp
from engine.lifecycle import OPEN_STATES
from engine.ticket import RESOLVED_BY_PARENT, Ticket
from engine.vocabulary import TicketState

#: Loads a ticket of the unit of work, brought up to date to the stamp's instant.
Prepare = Callable[[str], Ticket]


def link(parent: Ticket, child: Ticket, stamp: Stamp) -> None:
    """``child`` becomes a child of major incident ``parent`` (an event on each)."""
    parent.link_child(stamp, child=child.ref)
    child.link_to_parent(stamp, parent=parent.ref)


def resolve_children(parent: Ticket, stamp: Stamp, prepare: Prepare) -> None:
    """The parent was resolved: resolve each of its children that is still open."""
    for ref in parent.children:
        child = prepare(ref)
        if child.state in OPEN_STATES:
            child.ensure_in_time(stamp.occurred_at)
            child.resolve(
                stamp,
                code=RESOLVED_BY_PARENT,
                notes=f"Resolved with major incident {parent.ref}",
                by_parent=parent.ref,
            )


def reopen_children(parent: Ticket, stamp: Stamp, reason: str, prepare: Prepare) -> None:
    """The parent was reopened: reopen the children it resolved (and only those)."""
    for ref in parent.children:
        child = prepare(ref)
        if child.state == TicketState.RESOLVED and child.resolved_by_parent == parent.ref:
            child.ensure_in_time(stamp.occurred_at)
            child.reopen(
                stamp,
                reason=f"major incident {parent.ref} reopened: {reason}",
                by_parent=parent.ref,
            )
