"""The lifecycle of docs/lifecycle.md as one table: which action is allowed in which state, and
where it
leads. The ticket's guards, the importers' planners, the projections and the tests all read
this table; nothing else writes the rules down.

=================  ==================================  ==============
action             allowed in                          leads to
=================  ==================================  ==============
open               (no ticket yet)                     new
start              new                                 in_progress
hold               new, in_progress                    on_hold
resume             on_hold                             in_progress
resolve            new, in_progress, on_hold           resolved
reopen             resolved                            in_progress
close              resolved                            closed
cancel             new, in_progress, on_hold           canceled
declare_major      new, in_progress, on_hold           (unchanged)
review             resolved                            (unchanged)
everything else    any state that is not final         (unchanged)
=================  ==================================  ==============

Two consequences are rules of their own: assigning a *person* to a ``new`` ticket starts work
(:func:`after_assignment`), and the caller's customer-visible reply while ``on_hold`` awaiting
the caller resumes it (:func:`resumes_on_reply`). ``closed`` and ``canceled`` are final.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from engine.errors import InvalidTransitionError, TicketFinalError
from engine.vocabulary import HoldReason, TicketState, Visibility

NEW, IN_PROGRESS, ON_HOLD = TicketState.NEW, TicketState.IN_PROGRESS, TicketState.ON_HOLD
RESOLVED, CLOSED, CANCELED = TicketState.RESOLVED, TicketState.CLOSED, TicketState.CANCELED

OPEN_STATES = frozenset({NEW, IN_PROGRESS, ON_HOLD})
FINAL_STATES = frozenset({CLOSED, CANCELED})
NOT_FINAL = frozenset(TicketState) - FINAL_STATES


class Action(StrEnum):
    """What can happen to a ticket: the commands of docs/lifecycle.md and the child side of a
    link."""

    OPEN = "open"
    ASSIGN = "assign"
    START = "start"
    HOLD = "hold"
    RESUME = "resume"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    CANCEL = "cancel"
    REPRIORITIZE = "reprioritize"
    ESCALATE = "escalate"
    COMMENT = "comment"
    UPDATE = "update"
    DECLARE_MAJOR = "declare_major"
    LINK_CHILD = "link_child"
    LINK_TO_PARENT = "link_to_parent"
    COMMUNICATE = "communicate"
    REVIEW = "review"
    LINK_PROBLEM = "link_problem"
    ASSIGN_ROLES = "assign_roles"
    RECORD_IMPACT = "record_impact"


@dataclass(frozen=True)
class Rule:
    """``action`` is allowed in ``allowed`` and leaves the ticket in ``to`` (None: as it was)."""

    action: Action
    allowed: frozenset[TicketState]
    to: TicketState | None


def _table(*rules: Rule) -> Mapping[Action, Rule]:
    table = {rule.action: rule for rule in rules}
    for action in Action:
        table.setdefault(action, Rule(action, NOT_FINAL, None))
    return MappingProxyType(table)


LIFECYCLE: Mapping[Action, Rule] = _table(
    Rule(Action.OPEN, frozenset(), NEW),
    Rule(Action.START, frozenset({NEW}), IN_PROGRESS),
    Rule(Action.HOLD, frozenset({NEW, IN_PROGRESS}), ON_HOLD),
    Rule(Action.RESUME, frozenset({ON_HOLD}), IN_PROGRESS),
    Rule(Action.RESOLVE, OPEN_STATES, RESOLVED),
    Rule(Action.REOPEN, frozenset({RESOLVED}), IN_PROGRESS),
    Rule(Action.CLOSE, frozenset({RESOLVED}), CLOSED),
    Rule(Action.CANCEL, OPEN_STATES, CANCELED),
    Rule(Action.DECLARE_MAJOR, OPEN_STATES, None),
    Rule(Action.REVIEW, frozenset({RESOLVED}), None),
)

#: The actions that change the state, in the order a route prefers them.
TRANSITIONS: tuple[Rule, ...] = tuple(rule for rule in LIFECYCLE.values() if rule.to is not None)


def allows(state: TicketState | str, action: Action | str) -> bool:
    """Whether ``action`` is allowed in ``state``."""
    return TicketState(state) in LIFECYCLE[Action(action)].allowed


def check(ref: str, state: TicketState | str, action: Action | str) -> TicketState:
    """The state after ``action``; raise the §2 error naming ticket, state and action."""
    current, rule = TicketState(state), LIFECYCLE[Action(action)]
    if current in FINAL_STATES:
        raise TicketFinalError(ref, current, rule.action)
    if current not in rule.allowed:
        raise InvalidTransitionError(ref, current, rule.action)
    return rule.to if rule.to is not None else current


def after_assignment(state: TicketState | str, assignee: str | None) -> TicketState:
    """Assigning a person to a ``new`` ticket starts work; anything else leaves the state."""
    current = TicketState(state)
    return IN_PROGRESS if current is NEW and assignee is not None else current


def resumes_on_reply(
    state: TicketState | str,
    hold_reason: HoldReason | str | None,
    visibility: Visibility | str,
    *,
    by_caller: bool,
) -> bool:
    """The caller's customer-visible comment resumes a ticket held awaiting the caller."""
    return (
        by_caller
        and visibility == Visibility.CUSTOMER
        and state == ON_HOLD
        and hold_reason == HoldReason.AWAITING_CALLER
    )


def route(
    state: TicketState | str,
    target: TicketState | str,
    *,
    hold_reason: str | None = None,
    target_reason: str | None = None,
) -> list[Action] | None:
    """The shortest sequence of actions from ``state`` to ``target`` (None: unreachable).

    A change of hold reason is ``resume`` then ``hold``. Importers use this to turn another
    tool's state changes into the commands that explain them.
    """
    start, goal = TicketState(state), TicketState(target)
    if start == goal:
        if start is ON_HOLD and hold_reason != target_reason:
            return [Action.RESUME, Action.HOLD]
        return []
    paths: dict[TicketState, list[Action]] = {start: []}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for rule in TRANSITIONS:
            if here in rule.allowed and rule.to is not None and rule.to not in paths:
                paths[rule.to] = [*paths[here], rule.action]
                if rule.to == goal:
                    return paths[rule.to]
                queue.append(rule.to)
    return None
