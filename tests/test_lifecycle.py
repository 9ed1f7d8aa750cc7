"""Behaviour of the ticket lifecycle (docs/lifecycle.md, as-of in docs/concepts.md),
given/when/then over events.

Given the commands that bring a ticket to a state, when one more command runs, then exactly
these events are appended (by type name) and the ticket is in this state — or the command is
rejected with exactly this error class, a message naming ticket, state and command, and no
event anywhere in the store.

Rules that do not depend on the store run on ``memory://`` (``memory_desk``); the
``TestOnEveryStore`` suite runs a representative slice on memory, SQLite and PostgreSQL.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from engine import lifecycle
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.errors import (
    CommandIdReusedError,
    CommandValidationError,
    ConcurrencyError,
    DeskLedgerError,
    DuplicateTicketError,
    InvalidTransitionError,
    NotPermittedError,
    TicketFinalError,
    TicketNotFoundError,
)
from engine.ids import ticket_id
from tests.conftest import START, run_rejected, run_writes_nothing

REF = "INC1001"
CALLER = "carol"
OPEN: dict[str, Any] = {
    "ref": REF,
    "title": "Mail is down",
    "caller": CALLER,
    "impact": 2,
    "urgency": 2,
    "group": "service-desk",
}
RESOLVE = {"code": "fixed", "notes": "restarted the mail relay"}
HOLD_REASONS = (
    "awaiting_caller",
    "awaiting_vendor",
    "awaiting_problem",
    "awaiting_change",
    "awaiting_evidence",
)
STATES = ("new", "in_progress", "on_hold", "resolved", "closed", "canceled")
FINAL = ("closed", "canceled")

#: Commands that bring a freshly opened ticket to each state.
TO_STATE: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "new": [],
    "in_progress": [("start", {})],
    "on_hold": [("hold", {"reason": "awaiting_vendor"})],
    "resolved": [("start", {}), ("resolve", RESOLVE)],
    "closed": [("start", {}), ("resolve", RESOLVE), ("close", {})],
    "canceled": [("cancel", {"reason": "opened by mistake"})],
}

#: The state-changing commands of the §2 table, with valid fields, and where they are allowed.
TRANSITIONS: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    "start": ({}, frozenset({"new"})),
    "hold": ({"reason": "awaiting_vendor"}, frozenset({"new", "in_progress"})),
    "resume": ({}, frozenset({"on_hold"})),
    "resolve": (RESOLVE, frozenset({"new", "in_progress", "on_hold"})),
    "reopen": ({"reason": "still broken"}, frozenset({"resolved"})),
    "close": ({}, frozenset({"resolved"})),
    "cancel": ({"reason": "duplicate"}, frozenset({"new", "in_progress", "on_hold"})),
}
#: Every (state, command) pair the §2 table does not allow, written out one by one.
NOT_IN_TABLE = [
    ("in_progress", "start"), ("on_hold", "start"), ("resolved", "start"),
    ("closed", "start"), ("canceled", "start"),
    ("on_hold", "hold"), ("resolved", "hold"), ("closed", "hold"), ("canceled", "hold"),
    ("new", "resume"), ("in_progress", "resume"), ("resolved", "resume"),
    ("closed", "resume"), ("canceled", "resume"),
    ("resolved", "resolve"), ("closed", "resolve"), ("canceled", "resolve"),
    ("new", "reopen"), ("in_progress", "reopen"), ("on_hold", "reopen"),
    ("closed", "reopen"), ("canceled", "reopen"),
    ("new", "close"), ("in_progress", "close"), ("on_hold", "close"),
    ("closed", "close"), ("canceled", "close"),
    ("resolved", "cancel"), ("closed", "cancel"), ("canceled", "cancel"),
]  # fmt: skip

#: Commands that change no state, with valid fields (for a P1 major ticket where needed).
STATELESS: dict[str, dict[str, Any]] = {
    "assign": {"group": "network", "assignee": "bob"},
    "comment": {"text": "any news?", "visibility": "internal"},
    "reprioritize": {"impact": 1, "reason": "more users affected"},
    "escalate": {"tier": 2, "group": "network-l2"},
    "link_problem": {"problem": "PRB0001"},
}


# ---------------------------------------------------------------------- helpers


def run(desk: Desk, name: str, fields: dict[str, Any], *, ref: str = REF, **options: Any) -> Any:
    options.setdefault("actor", "agent")
    return desk.execute(name, {"ref": ref, **fields}, **options)


def open_ticket(desk: Desk, ref: str = REF, **fields: Any) -> Any:
    return desk.execute("open", {**OPEN, "ref": ref, **fields}, actor="servicedesk")


def given(desk: Desk, state: str, ref: str = REF, **open_fields: Any) -> None:
    """Given a ticket ``ref`` in ``state``."""
    open_ticket(desk, ref, **open_fields)
    for name, fields in TO_STATE[state]:
        run(desk, name, fields, ref=ref)
    assert state == desk.get_ticket(ref).state


def types(desk: Desk, ref: str = REF) -> list[str]:
    return [type(event).__name__ for event in desk.ticket_events(ref)]


def then_events(desk: Desk, when: Callable[[], object], ref: str = REF) -> list[str]:
    """Run ``when`` and return the type names of the events it appended to ``ref``."""
    before = len(desk.ticket_events(ref))
    when()
    return types(desk, ref)[before:]


def assert_names(error: DeskLedgerError, *facts: str) -> None:
    message = str(error)
    for fact in facts:
        assert fact in message, f"{fact!r} not in {message!r}"


# ---------------------------------------------------------------------- the §2 table


class TestLifecycleTable:
    """Every row of the docs/lifecycle.md lifecycle table."""

    def test_open_yields_new(self, memory_desk: Desk) -> None:
        """(none) → new by open: one TicketOpened, state new."""
        result = open_ticket(memory_desk)
        assert ["TicketOpened"] == types(memory_desk)
        assert ["TicketOpened"] == result.events
        ticket = memory_desk.get_ticket(REF)
        assert "new" == ticket.state
        assert 1 == ticket.version
        assert (0, 0) == (ticket.reopen_count, ticket.reassignment_count)

    def test_assign_to_person_starts_work(self, memory_desk: Desk) -> None:
        """new → in_progress by assigning a person: Assigned, WorkStarted."""
        given(memory_desk, "new")
        events = then_events(memory_desk, lambda: run(memory_desk, "assign", {"assignee": "bob"}))
        assert ["Assigned", "WorkStarted"] == events
        ticket = memory_desk.get_ticket(REF)
        assert ("in_progress", "bob") == (ticket.state, ticket.assignee)

    def test_assign_group_only_does_not_start_work(self, memory_desk: Desk) -> None:
        """Assigning only a group to a new ticket keeps it new."""
        given(memory_desk, "new")
        events = then_events(memory_desk, lambda: run(memory_desk, "assign", {"group": "network"}))
        assert ["Assigned"] == events
        assert "new" == memory_desk.get_ticket(REF).state

    def test_start_work(self, memory_desk: Desk) -> None:
        """new → in_progress by start: WorkStarted."""
        given(memory_desk, "new")
        assert ["WorkStarted"] == then_events(memory_desk, lambda: run(memory_desk, "start", {}))
        assert "in_progress" == memory_desk.get_ticket(REF).state

    @pytest.mark.parametrize("reason", HOLD_REASONS)
    @pytest.mark.parametrize("state", ["new", "in_progress"])
    def test_put_on_hold(self, memory_desk: Desk, state: str, reason: str) -> None:
        """new/in_progress → on_hold with each hold reason: PutOnHold, hold_reason kept."""
        given(memory_desk, state)
        fields = {"reason": reason, "comment": "which printer is it?"}
        events = then_events(memory_desk, lambda: run(memory_desk, "hold", fields))
        assert ["PutOnHold"] == events
        ticket = memory_desk.get_ticket(REF)
        assert ("on_hold", reason) == (ticket.state, ticket.hold_reason)

    def test_resume(self, memory_desk: Desk) -> None:
        """on_hold → in_progress by resume: Resumed, hold reason cleared."""
        given(memory_desk, "on_hold")
        assert ["Resumed"] == then_events(memory_desk, lambda: run(memory_desk, "resume", {}))
        ticket = memory_desk.get_ticket(REF)
        assert ("in_progress", None) == (ticket.state, ticket.hold_reason)
        assert ticket.version == len(memory_desk.ticket_events(REF))

    def test_caller_reply_resumes_awaiting_caller(self, memory_desk: Desk) -> None:
        """on_hold(awaiting_caller) → in_progress by the caller's customer-visible comment."""
        given(memory_desk, "in_progress")
        run(memory_desk, "hold", {"reason": "awaiting_caller", "comment": "which printer?"})
        events = then_events(
            memory_desk,
            lambda: run(
                memory_desk,
                "comment",
                {"text": "the one on floor 3", "visibility": "customer"},
                actor=CALLER,
            ),
        )
        assert ["CommentAdded", "Resumed"] == events
        assert memory_desk.ticket_events(REF)[-1].by_caller_reply is True  # type: ignore[attr-defined]
        assert "in_progress" == memory_desk.get_ticket(REF).state

    @pytest.mark.parametrize(
        ("actor", "visibility", "reason"),
        [
            pytest.param(CALLER, "internal", "awaiting_caller", id="caller-internal-note"),
            pytest.param("agent", "customer", "awaiting_caller", id="agent-customer-comment"),
            pytest.param(CALLER, "customer", "awaiting_vendor", id="caller-while-vendor"),
        ],
    )
    def test_other_comments_do_not_resume(
        self, memory_desk: Desk, actor: str, visibility: str, reason: str
    ) -> None:
        """Only the caller's customer-visible comment, and only while awaiting_caller, resumes."""
        given(memory_desk, "in_progress")
        run(memory_desk, "hold", {"reason": reason, "comment": "which printer?"})
        events = then_events(
            memory_desk,
            lambda: run(
                memory_desk, "comment", {"text": "hi", "visibility": visibility}, actor=actor
            ),
        )
        assert ["CommentAdded"] == events
        assert "on_hold" == memory_desk.get_ticket(REF).state

    @pytest.mark.parametrize("state", ["new", "in_progress", "on_hold"])
    def test_resolve(self, memory_desk: Desk, state: str) -> None:
        """new/in_progress/on_hold → resolved: Resolved with code and notes."""
        given(memory_desk, state)
        fields = {**RESOLVE, "knowledge": "KB0042"}
        assert ["Resolved"] == then_events(memory_desk, lambda: run(memory_desk, "resolve", fields))
        ticket = memory_desk.get_ticket(REF)
        assert "resolved" == ticket.state
        assert (RESOLVE["code"], RESOLVE["notes"], "KB0042") == (
            ticket.resolution_code,
            ticket.resolution_notes,
            ticket.knowledge,
        )
        assert ticket.hold_reason is None

    def test_reopen_counts(self, memory_desk: Desk) -> None:
        """resolved → in_progress by reopen: Reopened, reopen_count += 1 each time."""
        given(memory_desk, "resolved")
        events = then_events(memory_desk, lambda: run(memory_desk, "reopen", {"reason": "again"}))
        assert ["Reopened"] == events
        ticket = memory_desk.get_ticket(REF)
        assert ("in_progress", 1) == (ticket.state, ticket.reopen_count)
        assert ticket.resolution_code is None
        run(memory_desk, "resolve", RESOLVE)
        run(memory_desk, "reopen", {"reason": "and again"})
        assert 2 == memory_desk.get_ticket(REF).reopen_count

    def test_close(self, memory_desk: Desk) -> None:
        """resolved → closed by close: Closed (not automatic)."""
        given(memory_desk, "resolved")
        assert ["Closed"] == then_events(memory_desk, lambda: run(memory_desk, "close", {}))
        assert "closed" == memory_desk.get_ticket(REF).state
        assert memory_desk.ticket_events(REF)[-1].automatically is False  # type: ignore[attr-defined]

    @pytest.mark.parametrize("state", ["new", "in_progress", "on_hold"])
    def test_cancel(self, memory_desk: Desk, state: str) -> None:
        """new/in_progress/on_hold → canceled by cancel with a reason: Canceled."""
        given(memory_desk, state)
        fields = {"reason": "duplicate of INC0999"}
        assert ["Canceled"] == then_events(memory_desk, lambda: run(memory_desk, "cancel", fields))
        ticket = memory_desk.get_ticket(REF)
        assert ("canceled", None) == (ticket.state, ticket.hold_reason)


class TestTransitionsNotInTheTable:
    """Every (state, command) pair outside the table is rejected and writes nothing."""

    @pytest.mark.parametrize(("state", "command"), NOT_IN_TABLE)
    def test_rejected(self, memory_desk: Desk, state: str, command: str) -> None:
        """InvalidTransitionError (TicketFinalError on closed/canceled) naming ref, state and
        command; nothing written."""
        given(memory_desk, state)
        expected = TicketFinalError if state in FINAL else InvalidTransitionError
        fields = TRANSITIONS[command][0]
        error = run_rejected(memory_desk, expected, command, {"ref": REF, **fields})
        assert isinstance(error, InvalidTransitionError)
        assert (REF, state, command) == (error.ref, error.state, error.command)
        assert_names(error, REF, state, command)
        assert state == memory_desk.get_ticket(REF).state

    @pytest.mark.parametrize("state", FINAL)
    @pytest.mark.parametrize(
        "command",
        [
            *STATELESS,
            "escalate-hierarchical",
            "declare_major",
            "communicate",
            "link_child",
            "review",
        ],
    )
    def test_anything_on_a_final_ticket(self, memory_desk: Desk, state: str, command: str) -> None:
        """Closed and canceled are final: every command raises TicketFinalError naming the
        ticket and its state."""
        given(memory_desk, state, impact=1, urgency=1)
        open_ticket(memory_desk, "INC1002", impact=1, urgency=1)
        fields: dict[str, Any] = {
            **STATELESS,
            "escalate-hierarchical": {"hierarchical": True, "to": "desk-manager"},
            "declare_major": {"reason": "site down"},
            "communicate": {"audience": "all staff", "message": "we are on it"},
            "link_child": {"child": "INC1002"},
            "review": {"summary": "s", "root_cause": "rc", "actions": ["a"]},
        }[command]
        name = command.removesuffix("-hierarchical")
        error = run_rejected(memory_desk, TicketFinalError, name, {"ref": REF, **fields})
        assert_names(error, REF, state)
        assert state == memory_desk.get_ticket(REF).state

    @pytest.mark.parametrize("state", FINAL)
    def test_linking_a_final_child_is_rejected(self, memory_desk: Desk, state: str) -> None:
        """A closed or canceled incident cannot become a child: TicketFinalError naming it."""
        open_ticket(memory_desk, "INC0001", impact=1, urgency=1)
        run(memory_desk, "declare_major", {"reason": "outage"}, ref="INC0001")
        given(memory_desk, state)
        error = run_rejected(
            memory_desk, TicketFinalError, "link_child", {"ref": "INC0001", "child": REF}
        )
        assert_names(error, REF, state)

    @pytest.mark.parametrize("state", ["new", "in_progress", "on_hold"])
    def test_review_before_resolution_is_rejected(self, memory_desk: Desk, state: str) -> None:
        """A post-incident review is only recorded after resolution."""
        given(memory_desk, state, impact=1, urgency=1)
        run(memory_desk, "declare_major", {"reason": "outage"})
        fields = {"ref": REF, "summary": "s", "root_cause": "rc"}
        error = run_rejected(memory_desk, InvalidTransitionError, "review", fields)
        assert_names(error, REF, state, "review")


class TestStatelessCommands:
    """assign, comment, reprioritize, escalate and link_* change no state."""

    @pytest.mark.parametrize("state", ["new", "in_progress", "on_hold", "resolved"])
    @pytest.mark.parametrize("command", [*STATELESS, "escalate-hierarchical"])
    def test_accepted_in_every_open_state(
        self, memory_desk: Desk, state: str, command: str
    ) -> None:
        """State-less commands are accepted in every non-final state, resolved included, and
        leave the state alone (an assignee given to a new ticket starts work)."""
        given(memory_desk, state)
        fields = {**STATELESS, "escalate-hierarchical": {"hierarchical": True, "to": "manager"}}[
            command
        ]
        events = then_events(
            memory_desk, lambda: run(memory_desk, command.removesuffix("-hierarchical"), fields)
        )
        assert events, "the command recorded nothing"
        expected_state = "in_progress" if (state, command) == ("new", "assign") else state
        assert expected_state == memory_desk.get_ticket(REF).state

    def test_open_with_assignee_stays_new(self, memory_desk: Desk) -> None:
        """`open` always yields new, even with an assignee: no WorkStarted."""
        open_ticket(memory_desk, assignee="bob")
        assert ["TicketOpened"] == types(memory_desk)
        ticket = memory_desk.get_ticket(REF)
        assert ("new", "bob") == (ticket.state, ticket.assignee)

    def test_assign_person_while_on_hold_keeps_hold(self, memory_desk: Desk) -> None:
        """Assigning a person to an on-hold ticket does not resume it."""
        given(memory_desk, "on_hold")
        assert ["Assigned"] == then_events(
            memory_desk, lambda: run(memory_desk, "assign", {"assignee": "bob"})
        )
        assert "on_hold" == memory_desk.get_ticket(REF).state

    def test_comment_records_visibility(self, memory_desk: Desk) -> None:
        """Work notes and customer-visible comments are both CommentAdded events."""
        given(memory_desk, "in_progress")
        run(memory_desk, "comment", {"text": "note"})
        run(memory_desk, "comment", {"text": "hello", "visibility": "customer"})
        comments = memory_desk.ticket_events(REF)[-2:]
        assert ["internal", "customer"] == [c.visibility for c in comments]  # type: ignore[attr-defined]

    def test_link_problem(self, memory_desk: Desk) -> None:
        """link_problem records the problem ref; linking the same problem again is a no-op."""
        given(memory_desk, "in_progress")
        assert ["ProblemLinked"] == then_events(
            memory_desk, lambda: run(memory_desk, "link_problem", {"problem": "PRB0001"})
        )
        assert "PRB0001" == memory_desk.get_ticket(REF).problem
        run_writes_nothing(memory_desk, "link_problem", {"ref": REF, "problem": "PRB0001"})


# ---------------------------------------------------------------------- validation


class TestValidation:
    """A missing or invalid field: CommandValidationError naming the field, nothing written."""

    @pytest.mark.parametrize(
        ("field", "change"),
        [
            pytest.param("caller", {"caller": None}, id="caller-missing"),
            pytest.param("caller", {"caller": "  "}, id="caller-blank"),
            pytest.param("title", {"title": None}, id="title-missing"),
            pytest.param("title", {"title": ""}, id="title-blank"),
            pytest.param("impact", {"impact": 0}, id="impact-0"),
            pytest.param("impact", {"impact": 4}, id="impact-4"),
            pytest.param("urgency", {"urgency": 0}, id="urgency-0"),
            pytest.param("urgency", {"urgency": 4}, id="urgency-4"),
            pytest.param("kind", {"kind": "problem"}, id="kind-unknown"),
            pytest.param("channel", {"channel": "pigeon"}, id="channel-unknown"),
        ],
    )
    def test_open(self, memory_desk: Desk, field: str, change: dict[str, Any]) -> None:
        """`open` needs caller and title; impact and urgency are 1..3."""
        fields = {**OPEN, **change}
        fields = {key: value for key, value in fields.items() if value is not None}
        error = run_rejected(memory_desk, CommandValidationError, "open", fields)
        assert isinstance(error, CommandValidationError)
        assert field == error.field
        assert_names(error, field)
        with pytest.raises(TicketNotFoundError):
            memory_desk.get_ticket(REF)

    @pytest.mark.parametrize(
        ("command", "fields", "field"),
        [
            pytest.param("hold", {"reason": "awaiting_godot"}, "reason", id="hold-unknown-reason"),
            pytest.param("hold", {}, "reason", id="hold-no-reason"),
            pytest.param(
                "hold", {"reason": "awaiting_caller"}, "comment", id="awaiting-caller-no-comment"
            ),
            pytest.param(
                "hold",
                {"reason": "awaiting_caller", "comment": " "},
                "comment",
                id="awaiting-caller-blank-comment",
            ),
            pytest.param("resolve", {"notes": "n"}, "code", id="resolve-no-code"),
            pytest.param("resolve", {"code": "", "notes": "n"}, "code", id="resolve-blank-code"),
            pytest.param("resolve", {"code": "fixed"}, "notes", id="resolve-no-notes"),
            pytest.param(
                "resolve", {"code": "fixed", "notes": ""}, "notes", id="resolve-blank-notes"
            ),
            pytest.param("cancel", {}, "reason", id="cancel-no-reason"),
            pytest.param("cancel", {"reason": ""}, "reason", id="cancel-blank-reason"),
            pytest.param("assign", {}, "group", id="assign-nothing"),
            pytest.param("reprioritize", {"reason": "r"}, "impact", id="reprioritize-nothing"),
            pytest.param(
                "reprioritize", {"impact": 4, "reason": "r"}, "impact", id="reprioritize-impact-4"
            ),
            pytest.param("reprioritize", {"urgency": 1}, "reason", id="reprioritize-no-reason"),
            pytest.param("escalate", {"tier": 2}, "group", id="escalate-no-group"),
            pytest.param("escalate", {"tier": 1, "group": "g"}, "tier", id="escalate-not-up"),
            pytest.param("escalate", {"tier": 4, "group": "g"}, "tier", id="escalate-tier-4"),
            pytest.param("comment", {"text": ""}, "text", id="comment-blank"),
            pytest.param(
                "comment", {"text": "x", "visibility": "public"}, "visibility", id="visibility"
            ),
        ],
    )
    def test_commands(
        self, memory_desk: Desk, command: str, fields: dict[str, Any], field: str
    ) -> None:
        """Each command names its missing or invalid field."""
        given(memory_desk, "in_progress")
        error = run_rejected(memory_desk, CommandValidationError, command, {"ref": REF, **fields})
        assert isinstance(error, CommandValidationError)
        assert field == error.field
        assert_names(error, field)
        assert "in_progress" == memory_desk.get_ticket(REF).state

    def test_actor_is_required(self, memory_desk: Desk) -> None:
        """Every command needs `as`."""
        error = run_rejected(memory_desk, CommandValidationError, "open", OPEN, actor=" ")
        assert "as" == error.field  # type: ignore[attr-defined]

    def test_duplicate_ticket(self, memory_desk: Desk) -> None:
        """Opening a ref that is in use raises DuplicateTicketError naming it."""
        open_ticket(memory_desk)
        error = run_rejected(memory_desk, DuplicateTicketError, "open", {**OPEN, "title": "x"})
        assert_names(error, REF)

    @pytest.mark.parametrize("command", [*TRANSITIONS, *STATELESS])
    def test_ticket_not_found(self, memory_desk: Desk, command: str) -> None:
        """A command on an unknown ref raises TicketNotFoundError naming it."""
        fields = {**TRANSITIONS, **{k: (v, None) for k, v in STATELESS.items()}}[command][0]
        error = run_rejected(memory_desk, TicketNotFoundError, command, {"ref": "INC404", **fields})
        assert_names(error, "INC404")
        with pytest.raises(TicketNotFoundError):
            memory_desk.get_ticket("INC404")


# ---------------------------------------------------------------------- assignment


class TestReassignmentCount:
    """reassignment_count counts every change of group after opening (ServiceNow convention)."""

    def test_group_change_counts(self, memory_desk: Desk) -> None:
        """Changing the group is a reassignment, each time."""
        open_ticket(memory_desk)
        run(memory_desk, "assign", {"group": "network"})
        run(memory_desk, "assign", {"group": "database"})
        assert 2 == memory_desk.get_ticket(REF).reassignment_count

    def test_clearing_and_setting_again_count(self, memory_desk: Desk) -> None:
        """Clearing the group counts, and so does setting it again."""
        open_ticket(memory_desk)
        run(memory_desk, "assign", {"group": None})
        assert memory_desk.get_ticket(REF).assignment_group is None
        assert 1 == memory_desk.get_ticket(REF).reassignment_count
        run(memory_desk, "assign", {"group": "service-desk"})
        assert 2 == memory_desk.get_ticket(REF).reassignment_count

    def test_first_assignment_without_group_counts(self, memory_desk: Desk) -> None:
        """The first group of a ticket opened without one is a reassignment."""
        open_ticket(memory_desk, group=None)
        run(memory_desk, "assign", {"group": "network"})
        assert 1 == memory_desk.get_ticket(REF).reassignment_count

    def test_assignee_only_is_not_a_reassignment(self, memory_desk: Desk) -> None:
        """Changing (or clearing) only the assignee keeps the count."""
        open_ticket(memory_desk)
        run(memory_desk, "assign", {"assignee": "bob"})
        run(memory_desk, "assign", {"assignee": "dave"})
        run(memory_desk, "assign", {"assignee": None})
        run(memory_desk, "assign", {"group": "service-desk", "assignee": "erin"})
        ticket = memory_desk.get_ticket(REF)
        assert (0, "erin") == (ticket.reassignment_count, ticket.assignee)

    def test_same_group_again_writes_nothing(self, memory_desk: Desk) -> None:
        """Assigning the group it already has (on a started ticket) changes nothing."""
        given(memory_desk, "in_progress")
        run_writes_nothing(memory_desk, "assign", {"ref": REF, "group": "service-desk"})
        assert 0 == memory_desk.get_ticket(REF).reassignment_count

    def test_opening_group_is_not_a_reassignment(self, memory_desk: Desk) -> None:
        """The group given at opening does not count."""
        open_ticket(memory_desk, group="network")
        assert 0 == memory_desk.get_ticket(REF).reassignment_count


class TestEscalation:
    def test_functional_escalation_moves_and_counts(self, memory_desk: Desk) -> None:
        """Functional escalation: higher tier, new group, a reassignment."""
        given(memory_desk, "in_progress")
        events = then_events(
            memory_desk,
            lambda: run(memory_desk, "escalate", {"tier": 2, "group": "network-l2", "reason": "r"}),
        )
        assert ["FunctionallyEscalated"] == events
        ticket = memory_desk.get_ticket(REF)
        assert (2, "network-l2", 1) == (
            ticket.tier,
            ticket.assignment_group,
            ticket.reassignment_count,
        )
        run(memory_desk, "escalate", {"tier": 3, "group": "vendor"})
        ticket = memory_desk.get_ticket(REF)
        assert (3, "vendor", 2) == (ticket.tier, ticket.assignment_group, ticket.reassignment_count)

    def test_hierarchical_escalation_does_not_move(self, memory_desk: Desk) -> None:
        """Hierarchical escalation is recorded; tier, group and the count stay."""
        given(memory_desk, "in_progress")
        events = then_events(
            memory_desk,
            lambda: run(memory_desk, "escalate", {"hierarchical": True, "to": "desk-manager"}),
        )
        assert ["HierarchicallyEscalated"] == events
        ticket = memory_desk.get_ticket(REF)
        assert (1, "service-desk", 0) == (
            ticket.tier,
            ticket.assignment_group,
            ticket.reassignment_count,
        )
        assert "desk-manager" == memory_desk.ticket_events(REF)[-1].to  # type: ignore[attr-defined]

    def test_hierarchical_with_tier_is_rejected(self, memory_desk: Desk) -> None:
        """A hierarchical escalation takes `to`, not tier/group."""
        given(memory_desk, "in_progress")
        fields = {"ref": REF, "hierarchical": True, "to": "boss", "tier": 2, "group": "g"}
        error = run_rejected(memory_desk, CommandValidationError, "escalate", fields)
        assert "hierarchical" == error.field  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- priority


DEFAULT_MATRIX = {(1, 1): 1, (1, 2): 2, (1, 3): 3, (2, 1): 2, (2, 2): 3, (2, 3): 4}
DEFAULT_MATRIX |= {(3, 1): 3, (3, 2): 4, (3, 3): 5}


class TestPriority:
    @pytest.mark.parametrize(("impact", "urgency"), sorted(DEFAULT_MATRIX))
    def test_default_matrix(self, memory_desk: Desk, impact: int, urgency: int) -> None:
        """priority = the ITIL matrix[impact][urgency] when no policy is loaded."""
        open_ticket(memory_desk, impact=impact, urgency=urgency)
        ticket = memory_desk.get_ticket(REF)
        assert DEFAULT_MATRIX[impact, urgency] == ticket.priority
        assert DEFAULT_MATRIX[impact, urgency] == memory_desk.ticket_events(REF)[0].priority  # type: ignore[attr-defined]

    def test_loaded_matrix_applies_to_new_tickets_only(self, memory_desk: Desk) -> None:
        """A loaded matrix prioritises tickets opened after it; existing ones keep their
        priority and their history."""
        open_ticket(memory_desk, "INC0001", impact=2, urgency=2)
        before = [e.hash for e in memory_desk.ticket_events("INC0001")]
        flat = {i: dict.fromkeys((1, 2, 3), 4) for i in (1, 2, 3)}
        memory_desk.load_policy({"priority_matrix": flat}, actor="admin")
        open_ticket(memory_desk, "INC0002", impact=2, urgency=2)
        open_ticket(memory_desk, "INC0003", impact=1, urgency=1)
        assert 3 == memory_desk.get_ticket("INC0001").priority
        assert before == [e.hash for e in memory_desk.ticket_events("INC0001")]
        assert 4 == memory_desk.get_ticket("INC0002").priority
        assert 4 == memory_desk.get_ticket("INC0003").priority
        assert memory_desk.verify().ok

    def test_reprioritize_recomputes(self, memory_desk: Desk) -> None:
        """reprioritize sets impact and/or urgency and recomputes the priority."""
        open_ticket(memory_desk, impact=3, urgency=3)
        events = then_events(
            memory_desk, lambda: run(memory_desk, "reprioritize", {"impact": 1, "reason": "vip"})
        )
        assert ["Reprioritized"] == events
        changed = memory_desk.ticket_events(REF)[-1]
        assert (5, 3) == (changed.previous_priority, changed.priority)  # type: ignore[attr-defined]
        run(memory_desk, "reprioritize", {"urgency": 1, "reason": "outage spreading"})
        ticket = memory_desk.get_ticket(REF)
        assert (1, 1, 1) == (ticket.impact, ticket.urgency, ticket.priority)

    def test_reprioritize_uses_loaded_matrix(self, memory_desk: Desk) -> None:
        """reprioritize computes the priority with the matrix in force."""
        open_ticket(memory_desk, impact=3, urgency=3)
        flat = {i: dict.fromkeys((1, 2, 3), 2) for i in (1, 2, 3)}
        memory_desk.load_policy({"priority_matrix": flat}, actor="admin")
        run(memory_desk, "reprioritize", {"impact": 2, "reason": "r"})
        assert 2 == memory_desk.get_ticket(REF).priority


# ---------------------------------------------------------------------- retries, concurrency


class TestIdempotency:
    def test_same_command_id_twice(self, memory_desk: Desk) -> None:
        """The second submission of a command_id is a duplicate and writes nothing."""
        given(memory_desk, "in_progress")
        first = run(memory_desk, "comment", {"text": "hello"}, command_id="c-1")
        assert not first.duplicate
        again = run_writes_nothing(
            memory_desk, "comment", {"ref": REF, "text": "hello"}, command_id="c-1"
        )
        assert again.duplicate
        assert 1 == memory_desk.get_ticket(REF).comment_count

    def test_same_command_id_for_a_transition(self, memory_desk: Desk) -> None:
        """A retried resolve does not fail on the ticket being resolved already."""
        given(memory_desk, "in_progress")
        run(memory_desk, "resolve", RESOLVE, command_id="r-1")
        again = run_writes_nothing(
            memory_desk, "resolve", {"ref": REF, **RESOLVE}, command_id="r-1"
        )
        assert again.duplicate

    def test_open_twice_with_same_command_id(self, memory_desk: Desk) -> None:
        """Re-submitting `open` with its command_id is a duplicate, not DuplicateTicketError."""
        memory_desk.execute("open", OPEN, actor="desk", command_id="o-1")
        again = run_writes_nothing(memory_desk, "open", OPEN, actor="desk", command_id="o-1")
        assert again.duplicate
        run_rejected(memory_desk, DuplicateTicketError, "open", OPEN, command_id="o-2")

    def test_rejected_command_id_can_be_retried(self, memory_desk: Desk) -> None:
        """A rejected command records nothing, so a corrected retry with its id applies."""
        given(memory_desk, "in_progress")
        run_rejected(
            memory_desk,
            CommandValidationError,
            "hold",
            {"ref": REF, "reason": "awaiting_caller"},
            command_id="h-1",
        )
        result = run(
            memory_desk, "hold", {"reason": "awaiting_caller", "comment": "?"}, command_id="h-1"
        )
        assert ["PutOnHold"] == result.events


class TestExpectedVersion:
    def test_mismatch_is_a_concurrency_error(self, memory_desk: Desk) -> None:
        """expected_version different from the ticket's version: ConcurrencyError, nothing
        written; the right version is accepted."""
        given(memory_desk, "in_progress")
        fields = {"ref": REF, "text": "x"}
        error = run_rejected(memory_desk, ConcurrencyError, "comment", fields, expected_version=1)
        assert_names(error, REF)
        assert (1, 2) == (error.expected, error.actual)  # type: ignore[attr-defined]
        result = memory_desk.execute("comment", fields, actor="agent", expected_version=2)
        assert 3 == result.version

    def test_open_expects_version_zero(self, memory_desk: Desk) -> None:
        """`open` with an expected_version other than 0 is a concurrency error."""
        run_rejected(memory_desk, ConcurrencyError, "open", OPEN, expected_version=3)
        assert 1 == memory_desk.execute("open", OPEN, actor="a", expected_version=0).version


def _race(first: Desk, second: Desk) -> None:
    """``second`` loads INC1001, then ``first`` writes before ``second`` saves."""
    original = second.repository.get
    raced = False

    def get_then_let_the_other_write(aggregate_id: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal raced
        aggregate = original(aggregate_id, *args, **kwargs)
        if not raced and aggregate_id == ticket_id(REF):
            raced = True
            first.execute("comment", {"ref": REF, "text": "first"}, actor="alice")
        return aggregate

    second.repository.get = get_then_let_the_other_write  # type: ignore[method-assign]


def _texts(desk: Desk) -> list[str]:
    return [t for t in (getattr(e, "text", None) for e in desk.ticket_events(REF)) if t]


def _plain_command_retries_a_lost_race(first: Desk, second: Desk) -> None:
    _race(first, second)
    result = second.execute("comment", {"ref": REF, "text": "second"}, actor="bob")
    assert ["first", "second"] == _texts(first)
    assert (4, ["CommentAdded"]) == (result.version, result.events)
    assert second.verify().ok


def _guarded_command_loses_the_race(first: Desk, second: Desk) -> None:
    _race(first, second)
    before = first.recorder.max_notification_id()
    with pytest.raises(ConcurrencyError) as raised:
        second.execute("comment", {"ref": REF, "text": "second"}, actor="bob", expected_version=2)
    assert REF in str(raised.value)
    assert (2, 3) == (raised.value.expected, raised.value.actual)
    assert (before or 0) + 1 == second.recorder.max_notification_id()
    assert ["first"] == _texts(first)
    assert second.verify().ok


class TestRacingDesks:
    """Two Desk instances on one store both load a ticket and both write (docs/lifecycle.md)."""

    @pytest.mark.parametrize(
        "outcome", [_plain_command_retries_a_lost_race, _guarded_command_loses_the_race]
    )
    def test_two_desks_on_one_store(
        self,
        shared_store_url: str,
        open_store: Callable[[str], Desk],
        outcome: Callable[[Desk, Desk], None],
    ) -> None:
        """A plain command that lost the race is re-applied on the fresh ticket (both writes
        count); with expected_version the loser gets ConcurrencyError and writes nothing."""
        first, second = open_store(shared_store_url), open_store(shared_store_url)
        given(first, "in_progress")
        outcome(first, second)


# ---------------------------------------------------------------------- major incidents


MAJOR = "INC0900"


def given_major(desk: Desk, *children: str) -> None:
    """A P1 major incident MAJOR with ``children`` (in_progress incidents) linked to it."""
    open_ticket(desk, MAJOR, impact=1, urgency=1, title="Core firewall down")
    run(desk, "start", {}, ref=MAJOR)
    run(desk, "declare_major", {"reason": "whole site offline"}, ref=MAJOR, actor="mim")
    for child in children:
        open_ticket(desk, child, impact=2, urgency=2)
        run(desk, "start", {}, ref=child)
        run(desk, "link_child", {"child": child}, ref=MAJOR)


class TestMajorIncidents:
    def test_declare_p1(self, memory_desk: Desk) -> None:
        """A priority-1 incident can be declared major."""
        open_ticket(memory_desk, impact=1, urgency=1)
        events = then_events(
            memory_desk, lambda: run(memory_desk, "declare_major", {"reason": "outage"})
        )
        assert ["MajorIncidentDeclared"] == events
        assert memory_desk.get_ticket(REF).major

    @pytest.mark.parametrize(("impact", "urgency"), [(1, 2), (2, 1), (3, 3)])
    def test_declare_needs_priority_1(self, memory_desk: Desk, impact: int, urgency: int) -> None:
        """Only priority-1 incidents can be declared major."""
        open_ticket(memory_desk, impact=impact, urgency=urgency)
        error = run_rejected(
            memory_desk, CommandValidationError, "declare_major", {"ref": REF, "reason": "r"}
        )
        assert_names(error, REF, "priority")

    def test_service_request_cannot_be_major(self, memory_desk: Desk) -> None:
        """A P1 service request is not an incident and cannot be declared major."""
        open_ticket(memory_desk, kind="service_request", impact=1, urgency=1)
        run_rejected(
            memory_desk, CommandValidationError, "declare_major", {"ref": REF, "reason": "r"}
        )

    def test_declare_twice_is_rejected(self, memory_desk: Desk) -> None:
        """A major incident cannot be declared major again."""
        open_ticket(memory_desk, impact=1, urgency=1)
        run(memory_desk, "declare_major", {"reason": "outage"})
        run_rejected(
            memory_desk, CommandValidationError, "declare_major", {"ref": REF, "reason": "r"}
        )

    def test_declarers_from_policy(self, memory_desk: Desk) -> None:
        """`major_incidents.declarers` limits who may declare: NotPermittedError otherwise."""
        memory_desk.load_policy({"major_incidents": {"declarers": ["mim", "cto"]}}, actor="admin")
        open_ticket(memory_desk, impact=1, urgency=1)
        fields = {"ref": REF, "reason": "outage"}
        error = run_rejected(memory_desk, NotPermittedError, "declare_major", fields, actor="bob")
        assert_names(error, "bob")
        assert not memory_desk.get_ticket(REF).major
        memory_desk.execute("declare_major", fields, actor="cto")
        assert memory_desk.get_ticket(REF).major

    def test_anyone_declares_without_declarers(self, memory_desk: Desk) -> None:
        """Without `declarers` in the policy any actor may declare."""
        open_ticket(memory_desk, impact=1, urgency=1)
        run(memory_desk, "declare_major", {"reason": "outage"}, actor="anybody")
        assert memory_desk.get_ticket(REF).major

    def test_link_child_records_on_both(self, memory_desk: Desk) -> None:
        """link_child records ChildLinked on the parent and LinkedToParent on the child."""
        given_major(memory_desk)
        open_ticket(memory_desk, "INC0901")
        before = memory_desk.recorder.max_notification_id() or 0
        run(memory_desk, "link_child", {"child": "INC0901"}, ref=MAJOR)
        assert before + 2 == memory_desk.recorder.max_notification_id()
        assert "ChildLinked" == types(memory_desk, MAJOR)[-1]
        assert "LinkedToParent" == types(memory_desk, "INC0901")[-1]
        assert ["INC0901"] == memory_desk.get_ticket(MAJOR).children
        assert MAJOR == memory_desk.get_ticket("INC0901").parent

    @pytest.mark.parametrize(
        ("setup", "child", "error"),
        [
            pytest.param("not-major", "INC0901", CommandValidationError, id="parent-not-major"),
            pytest.param("", MAJOR, CommandValidationError, id="own-child"),
            pytest.param("", "INC0404", TicketNotFoundError, id="child-unknown"),
            pytest.param("child-major", "INC0902", CommandValidationError, id="child-is-major"),
            pytest.param("linked", "INC0901", CommandValidationError, id="already-linked"),
            pytest.param("request", "REQ0001", CommandValidationError, id="child-is-request"),
        ],
    )
    def test_link_child_rules(
        self, memory_desk: Desk, setup: str, child: str, error: type[DeskLedgerError]
    ) -> None:
        """Children are existing incidents, not the parent, not major, not linked elsewhere,
        and only a major incident takes children."""
        given_major(memory_desk)
        open_ticket(memory_desk, "INC0901")
        parent = MAJOR
        if setup == "not-major":
            open_ticket(memory_desk, "INC0800", impact=1, urgency=1)
            parent = "INC0800"
        elif setup == "child-major":
            open_ticket(memory_desk, "INC0902", impact=1, urgency=1)
            run(memory_desk, "declare_major", {"reason": "x"}, ref="INC0902")
        elif setup == "linked":
            open_ticket(memory_desk, "INC0902", impact=1, urgency=1)
            run(memory_desk, "declare_major", {"reason": "x"}, ref="INC0902")
            run(memory_desk, "link_child", {"child": "INC0901"}, ref="INC0902")
        elif setup == "request":
            open_ticket(memory_desk, "REQ0001", kind="service_request")
        run_rejected(memory_desk, error, "link_child", {"ref": parent, "child": child})

    def test_resolving_parent_resolves_open_children(self, memory_desk: Desk) -> None:
        """Resolving the major incident resolves its open children with resolved_by_parent;
        children resolved or canceled on their own keep their outcome."""
        given_major(memory_desk, "INC0901", "INC0902", "INC0903", "INC0904")
        run(memory_desk, "hold", {"reason": "awaiting_vendor"}, ref="INC0902")
        run(memory_desk, "resolve", {"code": "workaround", "notes": "own fix"}, ref="INC0903")
        run(memory_desk, "cancel", {"reason": "duplicate"}, ref="INC0904")
        before = memory_desk.recorder.max_notification_id() or 0
        run(memory_desk, "resolve", RESOLVE, ref=MAJOR)
        assert before + 3 == memory_desk.recorder.max_notification_id()
        outcome = {
            ref: (memory_desk.get_ticket(ref).state, memory_desk.get_ticket(ref).resolution_code)
            for ref in ("INC0901", "INC0902", "INC0903", "INC0904")
        }
        assert {
            "INC0901": ("resolved", "resolved_by_parent"),
            "INC0902": ("resolved", "resolved_by_parent"),
            "INC0903": ("resolved", "workaround"),
            "INC0904": ("canceled", None),
        } == outcome
        assert MAJOR in memory_desk.get_ticket("INC0901").resolution_notes  # type: ignore[operator]

    def test_reopening_parent_reopens_children_it_resolved(self, memory_desk: Desk) -> None:
        """Reopening the parent reopens the children it resolved, not those resolved
        independently."""
        given_major(memory_desk, "INC0901", "INC0902")
        run(memory_desk, "resolve", {"code": "workaround", "notes": "own fix"}, ref="INC0902")
        run(memory_desk, "resolve", RESOLVE, ref=MAJOR)
        run(memory_desk, "reopen", {"reason": "flapping"}, ref=MAJOR)
        states = {
            ref: (memory_desk.get_ticket(ref).state, memory_desk.get_ticket(ref).reopen_count)
            for ref in (MAJOR, "INC0901", "INC0902")
        }
        assert {
            MAJOR: ("in_progress", 1),
            "INC0901": ("in_progress", 1),
            "INC0902": ("resolved", 0),
        } == states

    def test_child_reopened_and_resolved_on_its_own_is_not_reopened(
        self, memory_desk: Desk
    ) -> None:
        """A child resolved by the parent, then reopened and resolved on its own, belongs to
        itself: reopening the parent leaves it resolved."""
        given_major(memory_desk, "INC0901")
        run(memory_desk, "resolve", RESOLVE, ref=MAJOR)
        run(memory_desk, "reopen", {"reason": "not fixed for me"}, ref="INC0901")
        run(memory_desk, "resolve", {"code": "local", "notes": "n"}, ref="INC0901")
        run(memory_desk, "reopen", {"reason": "flapping"}, ref=MAJOR)
        assert "resolved" == memory_desk.get_ticket("INC0901").state

    def test_communicate_only_on_major(self, memory_desk: Desk) -> None:
        """Communications are recorded on major incidents only."""
        given_major(memory_desk)
        fields = {"audience": "all staff", "message": "we are on it", "channel": "email"}
        assert ["CommunicationSent"] == then_events(
            memory_desk, lambda: run(memory_desk, "communicate", fields, ref=MAJOR), MAJOR
        )
        open_ticket(memory_desk)
        run_rejected(memory_desk, CommandValidationError, "communicate", {"ref": REF, **fields})

    def test_communicate_while_resolved(self, memory_desk: Desk) -> None:
        """communicate is state-less: accepted on a resolved major incident."""
        given_major(memory_desk)
        run(memory_desk, "resolve", RESOLVE, ref=MAJOR)
        run(memory_desk, "communicate", {"audience": "all", "message": "fixed"}, ref=MAJOR)
        assert 1 == memory_desk.get_ticket(MAJOR).communication_count

    def test_review_after_resolution(self, memory_desk: Desk) -> None:
        """A post-incident review is attached to a resolved major incident."""
        given_major(memory_desk)
        run(memory_desk, "resolve", RESOLVE, ref=MAJOR)
        fields = {"summary": "firewall", "root_cause": "firmware", "actions": ["upgrade"]}
        assert ["PostIncidentReviewRecorded"] == then_events(
            memory_desk, lambda: run(memory_desk, "review", fields, ref=MAJOR), MAJOR
        )
        assert memory_desk.get_ticket(MAJOR).reviewed

    def test_review_only_for_major(self, memory_desk: Desk) -> None:
        """A resolved ordinary incident takes no review."""
        given(memory_desk, "resolved")
        fields = {"ref": REF, "summary": "s", "root_cause": "rc"}
        run_rejected(memory_desk, CommandValidationError, "review", fields)


# ---------------------------------------------------------------------- as of


class TestAsOf:
    def test_state_as_of_uses_only_earlier_events(
        self, memory_desk: Desk, clock: SimulatedClock
    ) -> None:
        """get_ticket(as_of=T) folds only events that occurred at or before T."""
        open_ticket(memory_desk)  # 08:55
        clock.advance(timedelta(minutes=5))
        run(memory_desk, "assign", {"assignee": "bob"})  # 09:00
        clock.advance(timedelta(hours=1))
        run(memory_desk, "hold", {"reason": "awaiting_vendor"})  # 10:00
        clock.advance(timedelta(hours=1))
        run(memory_desk, "resume", {})  # 11:00
        clock.advance(timedelta(hours=1))
        run(memory_desk, "resolve", RESOLVE)  # 12:00

        def at(hour: int, minute: int = 0) -> Any:
            return memory_desk.get_ticket(REF, as_of=START.replace(hour=hour, minute=minute))

        assert ("new", None, 1) == (at(8, 59).state, at(8, 59).assignee, at(8, 59).version)
        assert ("in_progress", "bob") == (at(9).state, at(9).assignee)
        assert ("on_hold", "awaiting_vendor") == (at(10).state, at(10).hold_reason)
        assert "in_progress" == at(11, 30).state
        assert "resolved" == at(12).state
        assert memory_desk.get_ticket(REF).__dict__ == at(13).__dict__
        with pytest.raises(TicketNotFoundError):
            at(8, 54)

    def test_as_of_with_explicit_at(self, memory_desk: Desk) -> None:
        """Commands may carry their own `at`; as-of follows business time, not log order of
        recording."""
        t0 = START
        memory_desk.execute("open", OPEN, actor="a", at=t0)
        run(memory_desk, "start", {}, at=t0 + timedelta(days=1))
        assert "new" == memory_desk.get_ticket(REF, as_of=t0 + timedelta(hours=23)).state
        assert "in_progress" == memory_desk.get_ticket(REF, as_of=t0 + timedelta(days=1)).state

    def test_command_before_last_event_is_rejected(self, memory_desk: Desk) -> None:
        """A ticket's events stay in time order: an `at` before its last event is rejected."""
        memory_desk.execute("open", OPEN, actor="a", at=START + timedelta(hours=1))
        error = run_rejected(memory_desk, CommandValidationError, "start", {"ref": REF}, at=START)
        assert "at" == error.field  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- auto-close


AUTO_CLOSE = {"lifecycle": {"auto_close_after": "1d"}}


class TestAutoClose:
    def _resolved(self, desk: Desk, clock: SimulatedClock) -> datetime:
        desk.load_policy(AUTO_CLOSE, actor="admin")
        given(desk, "in_progress")
        clock.advance(timedelta(hours=2))
        run(desk, "resolve", RESOLVE)
        return clock.now()

    def test_advance_closes_after_the_window(
        self, memory_desk: Desk, clock: SimulatedClock
    ) -> None:
        """advance(until) records Closed(automatically) at resolution + auto_close_after."""
        resolved_at = self._resolved(memory_desk, clock)
        due = resolved_at + timedelta(days=1)
        assert [] == memory_desk.advance(due - timedelta(seconds=1))
        assert "resolved" == memory_desk.get_ticket(REF).state
        results = memory_desk.advance(due + timedelta(hours=5))
        assert [["Closed"]] == [r.events for r in results]
        closed = memory_desk.ticket_events(REF)[-1]
        assert (due, "system", True) == (closed.occurred_at, closed.actor, closed.automatically)  # type: ignore[attr-defined]
        ticket = memory_desk.get_ticket(REF)
        assert ("closed", due) == (ticket.state, ticket.closed_at)
        assert [] == memory_desk.advance(due + timedelta(days=3))

    def test_advance_defaults_to_the_clock(self, memory_desk: Desk, clock: SimulatedClock) -> None:
        """advance() without `until` uses the injected clock."""
        self._resolved(memory_desk, clock)
        clock.advance(timedelta(days=2))
        memory_desk.advance()
        assert "closed" == memory_desk.get_ticket(REF).state

    def test_reopen_after_window_is_rejected(
        self, memory_desk: Desk, clock: SimulatedClock
    ) -> None:
        """A reopen after the deadline is rejected: the ticket auto-closed before it."""
        resolved_at = self._resolved(memory_desk, clock)
        late = resolved_at + timedelta(days=1, minutes=1)
        error = run_rejected(
            memory_desk, TicketFinalError, "reopen", {"ref": REF, "reason": "again"}, at=late
        )
        assert_names(error, REF, "closed", "reopen")

    def test_reopen_exactly_at_the_deadline_is_rejected(
        self, memory_desk: Desk, clock: SimulatedClock
    ) -> None:
        """The ticket closes at the due instant itself."""
        resolved_at = self._resolved(memory_desk, clock)
        at = resolved_at + timedelta(days=1)
        run_rejected(
            memory_desk, TicketFinalError, "reopen", {"ref": REF, "reason": "again"}, at=at
        )

    def test_reopen_within_window_is_accepted(
        self, memory_desk: Desk, clock: SimulatedClock
    ) -> None:
        """Before the deadline a reopen works as usual."""
        resolved_at = self._resolved(memory_desk, clock)
        at = resolved_at + timedelta(hours=23, minutes=59)
        run(memory_desk, "reopen", {"reason": "again"}, at=at)
        assert "in_progress" == memory_desk.get_ticket(REF).state

    def test_auto_close_is_recorded_before_a_later_command(
        self, memory_desk: Desk, clock: SimulatedClock
    ) -> None:
        """A later command that touches the ticket records its due auto-close first, at the
        due instant (here: resolving a major incident whose child was resolved on its own)."""
        memory_desk.load_policy(AUTO_CLOSE, actor="admin")
        given_major(memory_desk, "INC0901")
        run(memory_desk, "resolve", {"code": "own", "notes": "n"}, ref="INC0901")
        resolved_at = clock.now()
        late = resolved_at + timedelta(days=2)
        run(memory_desk, "resolve", RESOLVE, ref=MAJOR, at=late)
        child_events = memory_desk.ticket_events("INC0901")
        closed = child_events[-1]
        assert "Closed" == type(closed).__name__
        assert resolved_at + timedelta(days=1) == closed.occurred_at
        assert "closed" == memory_desk.get_ticket("INC0901").state

    def test_major_incidents_never_auto_close(
        self, memory_desk: Desk, clock: SimulatedClock
    ) -> None:
        """A resolved major incident stays resolved however long the clock runs; its children
        (ordinary incidents) do close."""
        memory_desk.load_policy(AUTO_CLOSE, actor="admin")
        given_major(memory_desk, "INC0901")
        run(memory_desk, "resolve", RESOLVE, ref=MAJOR)
        memory_desk.advance(clock.now() + timedelta(days=30))
        assert "resolved" == memory_desk.get_ticket(MAJOR).state
        assert "closed" == memory_desk.get_ticket("INC0901").state
        later = clock.now() + timedelta(days=31)
        run(memory_desk, "reopen", {"reason": "back"}, ref=MAJOR, at=later)
        assert "in_progress" == memory_desk.get_ticket(MAJOR).state

    def test_no_auto_close_without_policy(self, memory_desk: Desk, clock: SimulatedClock) -> None:
        """Without lifecycle.auto_close_after resolved tickets stay resolved."""
        given(memory_desk, "resolved")
        assert [] == memory_desk.advance(clock.now() + timedelta(days=365))
        assert "resolved" == memory_desk.get_ticket(REF).state


# ---------------------------------------------------------------------- every store


class TestOnEveryStore:
    """A representative behaviour suite, run on memory, a SQLite file and PostgreSQL."""

    def test_open_assign_hold_resume_resolve_close(self, desk: Desk, clock: SimulatedClock) -> None:
        """The happy path writes the expected events in order, at increasing positions."""
        positions: list[int] = []
        steps: list[tuple[str, dict[str, Any], str]] = [
            ("assign", {"group": "network", "assignee": "bob"}, "in_progress"),
            ("hold", {"reason": "awaiting_caller", "comment": "which site?"}, "on_hold"),
            ("resume", {}, "in_progress"),
            ("resolve", RESOLVE, "resolved"),
            ("close", {}, "closed"),
        ]
        positions += open_ticket(desk).positions
        for name, fields, state in steps:
            clock.advance(timedelta(minutes=10))
            positions += run(desk, name, fields).positions
            assert state == desk.get_ticket(REF).state
        assert [
            "TicketOpened",
            "Assigned",
            "WorkStarted",
            "PutOnHold",
            "Resumed",
            "Resolved",
            "Closed",
        ] == types(desk)
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions) == 7
        ticket = desk.get_ticket(REF)
        assert (1, 7) == (ticket.reassignment_count, ticket.version)

    def test_reopen_counts(self, desk: Desk) -> None:
        """reopen_count survives the store round trip."""
        given(desk, "resolved")
        run(desk, "reopen", {"reason": "again"})
        run(desk, "resolve", RESOLVE)
        run(desk, "reopen", {"reason": "again"})
        assert 2 == desk.get_ticket(REF).reopen_count

    def test_invalid_transition_writes_nothing(self, desk: Desk) -> None:
        """start on an in_progress ticket: InvalidTransitionError, nothing written."""
        given(desk, "in_progress")
        error = run_rejected(desk, InvalidTransitionError, "start", {"ref": REF})
        assert_names(error, REF, "in_progress", "start")

    def test_final_ticket_rejects_everything(self, desk: Desk) -> None:
        """A closed ticket rejects even a comment, writing nothing."""
        given(desk, "closed")
        error = run_rejected(desk, TicketFinalError, "comment", {"ref": REF, "text": "x"})
        assert_names(error, REF, "closed")

    def test_validation_writes_nothing(self, desk: Desk) -> None:
        """A missing caller is a CommandValidationError and leaves an empty store."""
        fields = {k: v for k, v in OPEN.items() if k != "caller"}
        run_rejected(desk, CommandValidationError, "open", fields)
        assert desk.recorder.max_notification_id() in (None, 0)

    def test_duplicate_and_not_found(self, desk: Desk) -> None:
        """DuplicateTicketError and TicketNotFoundError on every store."""
        open_ticket(desk)
        run_rejected(desk, DuplicateTicketError, "open", OPEN)
        run_rejected(desk, TicketNotFoundError, "start", {"ref": "INC404"})

    def test_as_of(self, desk: Desk, clock: SimulatedClock) -> None:
        """as-of reads only events at or before T from the store."""
        open_ticket(desk)
        clock.advance(timedelta(hours=1))
        run(desk, "start", {})
        clock.advance(timedelta(hours=1))
        run(desk, "resolve", RESOLVE)
        assert "new" == desk.get_ticket(REF, as_of=START + timedelta(minutes=59)).state
        assert "in_progress" == desk.get_ticket(REF, as_of=START + timedelta(hours=1)).state
        assert "resolved" == desk.get_ticket(REF, as_of=START + timedelta(hours=2)).state

    def test_idempotent_retry(self, desk: Desk) -> None:
        """The same command_id twice: the second is a duplicate and writes nothing."""
        given(desk, "in_progress")
        run(desk, "hold", {"reason": "awaiting_vendor"}, command_id="cmd-7")
        again = run_writes_nothing(
            desk, "hold", {"ref": REF, "reason": "awaiting_vendor"}, command_id="cmd-7"
        )
        assert again.duplicate
        assert 1 == desk.get_ticket(REF).hold_count

    def test_expected_version(self, desk: Desk) -> None:
        """A stale expected_version is a ConcurrencyError and writes nothing."""
        given(desk, "in_progress")
        run_rejected(desk, ConcurrencyError, "resolve", {"ref": REF, **RESOLVE}, expected_version=1)
        run(desk, "resolve", RESOLVE, expected_version=2)
        assert "resolved" == desk.get_ticket(REF).state

    def test_major_incident_resolves_children_atomically(self, desk: Desk) -> None:
        """Resolving a major incident writes the parent's and children's events together."""
        given_major(desk, "INC0901", "INC0902")
        result = run(desk, "resolve", RESOLVE, ref=MAJOR)
        assert 3 == len(result.positions)
        assert {"resolved"} == {desk.get_ticket(r).state for r in (MAJOR, "INC0901", "INC0902")}
        run(desk, "reopen", {"reason": "flapping"}, ref=MAJOR)
        assert {1} == {desk.get_ticket(r).reopen_count for r in (MAJOR, "INC0901", "INC0902")}

    def test_auto_close(self, desk: Desk, clock: SimulatedClock) -> None:
        """Policy versions live in the store; advance records the auto-close."""
        desk.load_policy(AUTO_CLOSE, actor="admin")
        given(desk, "resolved")
        assert 1 == desk.policy().version
        desk.advance(clock.now() + timedelta(days=2))
        assert "closed" == desk.get_ticket(REF).state

    def test_verify_passes_with_checkpoint(self, desk: Desk, clock: SimulatedClock) -> None:
        """verify is ok on untampered history, and a head noted earlier stays valid."""
        given(desk, "in_progress", ref="INC0001")
        given(desk, "resolved", ref="INC0002")
        report = desk.verify()
        assert report.ok, report.problems
        assert report.events == desk.recorder.max_notification_id()
        head = report.head
        clock.advance(timedelta(hours=1))
        given(desk, "on_hold", ref="INC0003")
        later = desk.verify(checkpoint=head)
        assert later.ok, later.problems
        assert 3 == later.streams
        assert head != later.head

    def test_history_is_visible_to_a_fresh_desk(
        self, shared_store_url: str, open_store: Callable[[str], Desk]
    ) -> None:
        """Another Desk on the same store (SQLite file, PostgreSQL) sees the same tickets."""
        first = open_store(shared_store_url)
        given(first, "on_hold", ref="INC0001")
        given(first, "resolved", ref="INC0002")
        second = open_store(shared_store_url)
        for ref in ("INC0001", "INC0002"):
            assert first.get_ticket(ref).__dict__ == second.get_ticket(ref).__dict__
        assert ["INC0001", "INC0002"] == second.refs()
        assert second.verify().ok


def test_engine_lifecycle_table_is_the_spec_table() -> None:
    """engine.lifecycle allows exactly the pairs the §2 table allows, and rejects exactly the
    pairs written out in NOT_IN_TABLE; each transition leads where the table says."""
    leads_to = {
        "start": "in_progress", "hold": "on_hold", "resume": "in_progress",
        "resolve": "resolved", "reopen": "in_progress", "close": "closed", "cancel": "canceled",
    }  # fmt: skip
    rejected = {
        (state, command)
        for state, command in itertools.product(STATES, TRANSITIONS)
        if not lifecycle.allows(state, command)
    }
    assert sorted(NOT_IN_TABLE) == sorted(rejected)
    for command, (_, allowed) in TRANSITIONS.items():
        for state in allowed:
            assert leads_to[command] == lifecycle.check(REF, state, command)


def test_stateless_commands_are_allowed_in_every_state_but_the_final_ones() -> None:
    """assign, comment, reprioritize, escalate, link_*, communicate: any state not final."""
    for command in (*STATELESS, "link_child", "communicate"):
        assert [s for s in STATES if lifecycle.allows(s, command)] == list(STATES[:4])


@pytest.mark.parametrize(
    ("start", "target", "reasons", "expected"),
    [
        ("new", "closed", (None, None), ["resolve", "close"]),
        ("new", "in_progress", (None, None), ["start"]),
        ("on_hold", "resolved", ("awaiting_vendor", None), ["resolve"]),
        ("on_hold", "on_hold", ("awaiting_vendor", "awaiting_caller"), ["resume", "hold"]),
        ("on_hold", "on_hold", ("awaiting_vendor", "awaiting_vendor"), []),
        ("resolved", "on_hold", (None, "awaiting_caller"), ["reopen", "hold"]),
        ("closed", "in_progress", (None, None), None),
        ("in_progress", "new", (None, None), None),
    ],
)
def test_route_is_the_shortest_way_through_the_table(
    start: str, target: str, reasons: tuple[str | None, str | None], expected: list[str] | None
) -> None:
    """Importers explain another tool's state change with the shortest command route; a
    change of hold reason is resume + hold; out of a final state there is none."""
    actions = lifecycle.route(start, target, hold_reason=reasons[0], target_reason=reasons[1])
    assert expected == (None if actions is None else [str(a) for a in actions])


class TestCommandIds:
    """A command_id names one command: a retry has no effect, a reuse is an error."""

    def test_reusing_a_command_id_for_another_command_is_rejected(self, memory_desk: Desk) -> None:
        """`resolve` with the id of an earlier `comment`: CommandIdReusedError naming the
        id, exit 2 material, and nothing written."""
        given(memory_desk, "in_progress")
        run(memory_desk, "comment", {"text": "looking"}, command_id="k-1")
        error = run_rejected(
            memory_desk, CommandIdReusedError, "resolve", {"ref": REF, **RESOLVE}, command_id="k-1"
        )
        assert_names(error, "k-1", REF, "CommentAdded")

    def test_reusing_a_command_id_with_other_fields_is_rejected(self, memory_desk: Desk) -> None:
        """The same command with different fields under one id is a reuse, not a retry."""
        given(memory_desk, "in_progress")
        run(memory_desk, "comment", {"text": "looking"}, command_id="k-2")
        run_rejected(
            memory_desk,
            CommandIdReusedError,
            "comment",
            {"ref": REF, "text": "something else"},
            command_id="k-2",
        )

    def test_the_same_command_again_is_a_no_op(self, memory_desk: Desk) -> None:
        """The same command and fields under the same id: duplicate, nothing written."""
        given(memory_desk, "in_progress")
        run(memory_desk, "comment", {"text": "looking"}, command_id="k-3")
        result = run_writes_nothing(
            memory_desk, "comment", {"ref": REF, "text": "looking"}, command_id="k-3"
        )
        assert result.duplicate
