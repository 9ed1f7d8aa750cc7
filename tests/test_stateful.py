"""Random command sequences, valid and invalid, never break the ledger's invariants.

A hypothesis state machine drives a Desk on ``memory://`` with a handful of tickets: random
commands with random (often bad) fields, random actors, retried command ids, stale expected
versions, out-of-order ``at`` instants, policy loads and clock ticks. After every step:

- a closed or canceled ticket never changes again;
- a rejected command wrote nothing (checked around every command);
- ``reopen_count`` equals the number of ``Reopened`` events, and ``reassignment_count`` the
  number of events that changed the assignment group (recomputed from the groups alone);
- folding the stored events with ``event.mutate`` gives the live aggregate's ``__dict__``;
- ``desk.verify()`` is ok.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from adapters.bootstrap import open_desk
from engine.application import CommandResult, Desk
from engine.clock import SimulatedClock
from engine.errors import DeskLedgerError, TicketNotFoundError
from engine.ids import ticket_id
from engine.ticket.facts import FunctionallyEscalated, Reopened, TicketEvent
from tests.conftest import START

REFS = ("INC0001", "INC0002", "INC0003", "INC0004")
UNKNOWN = "INC0404"
CALLER = "carol"
FINAL = frozenset({"closed", "canceled"})
ACTORS = ("agent", CALLER, "mim", "system")

#: Per field: valid values, then bad ones (blank, unknown, out of range, missing type).
VALUES: dict[str, tuple[list[Any], list[Any]]] = {
    "group": (["network", "database", "service-desk", None], [""]),
    "assignee": (["bob", "dave", None], []),
    "reason": (
        [
            "awaiting_caller",
            "awaiting_vendor",
            "awaiting_problem",
            "awaiting_change",
            "awaiting_evidence",
        ],
        ["awaiting_godot", "", None],
    ),
    "comment": (["which printer?"], ["", None]),
    "code": (["fixed", "workaround"], ["", None]),
    "notes": (["done"], ["", None]),
    "knowledge": ([None, "KB0001"], []),
    "impact": ([1, 1, 2, 3], [0, 4, "high"]),
    "urgency": ([1, 1, 2, 3], [0, 4]),
    "tier": ([2, 3], [1, 4]),
    "hierarchical": ([False, True], []),
    "to": (["desk-manager"], [""]),
    "text": (["any news?"], ["", None]),
    "visibility": (["customer", "internal"], ["public"]),
    "problem": (["PRB0001", "PRB0002"], [""]),
    "child": ([*REFS], [UNKNOWN, "not a ref!"]),
    "audience": (["all staff"], [""]),
    "message": (["we are on it"], [""]),
    "channel": ([None, "email"], []),
    "summary": (["firewall"], [""]),
    "root_cause": (["firmware"], [""]),
    "actions": (
        [[], ["upgrade firmware"], [{"text": "spare", "owner": "bob", "due": "2026-03-20"}]],
        [[{"text": "x", "due": "soon"}], [{"text": "x", "link": "not a ref"}], [" "]],
    ),
    "contributing_factors": ([[], ["no alarm"]], [[""]]),
    "went_well": ([[], ["runbook"]], []),
    "lessons": ([[], ["test alarms", "page earlier"]], [[" "]]),
    "commander": (["alice", "bob", None], [""]),
    "comms_lead": (["carol", None], [" "]),
    # instants around the machine's start (the clock only moves forward from there)
    "started_at": (
        ["2026-03-02T08:40:00+00:00", "2026-03-02T08:45:00+00:00"],
        ["2026-03-02T08:40:00", "soon", "2030-01-01T00:00:00+00:00"],
    ),
    "detected_at": (["2026-03-02T08:50:00+00:00", "2026-03-02T08:42:00+00:00"], []),
    "mitigated_at": (
        ["2026-03-02T08:55:00+00:00", "2026-03-02T10:00:00+00:00"],
        ["2026-03-02T08:30:00+00:00"],
    ),
    "title": (["Printer jam", "Mail down"], ["", None]),
    "description": (["it beeps", None], []),
    "category": (["network", "printer", None], []),
    "subcategory": (["vpn", None], []),
    "service": (["email", None], []),
    "affected_services": ([["email", "vpn"], [], None], []),
    "affected_users": ([0, 40, None], [-1, "many"]),
    "change": (["CHG0001", None], ["not a ref"]),
}
FIELDS: dict[str, tuple[str, ...]] = {
    "assign": ("group", "assignee"),
    "start": (),
    "hold": ("reason", "comment"),
    "resume": (),
    "resolve": ("code", "notes", "knowledge"),
    "reopen": ("reason",),
    "close": (),
    "cancel": ("reason",),
    "reprioritize": ("impact", "urgency", "reason"),
    "escalate": ("tier", "group", "hierarchical", "to", "reason"),
    "comment": ("text", "visibility"),
    "declare_major": ("reason",),
    "link_child": ("child",),
    "communicate": ("audience", "message", "channel"),
    "review": (
        "summary",
        "root_cause",
        "actions",
        "contributing_factors",
        "went_well",
        "lessons",
    ),
    "link_problem": ("problem",),
    "update": (
        "title",
        "description",
        "category",
        "subcategory",
        "service",
        "affected_services",
        "affected_users",
        "change",
    ),
    "assign_roles": ("commander", "comms_lead"),
    "record_impact": ("started_at", "detected_at", "mitigated_at"),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
POLICIES: list[dict[str, Any]] = [
    {},
    {"lifecycle": {"auto_close_after": "1d"}},
    {"lifecycle": {"auto_close_after": "6h"}, "major_incidents": {"declarers": ["mim"]}},
    {"priority_matrix": {i: {u: min(5, i + u - 1) for u in (1, 2, 3)} for i in (1, 2, 3)}},
    {
        "lifecycle": {"auto_close_after": "1d"},
        "slas": [
            {
                "name": "response",
                "kind": "response",
                "applies_to": {"priority": [1, 2]},
                "target": "30m",
            },
            {
                "name": "P1 resolution",
                "kind": "resolution",
                "applies_to": {"ticket_kind": "incident", "priority": [1]},
                "target": "4h",
                "pause_on": ["awaiting_caller"],
            },
            {
                "name": "resolution",
                "kind": "resolution",
                "applies_to": {"priority": [2, 3, 4]},
                "target": "2d",
                "pause_on": ["awaiting_caller", "awaiting_vendor"],
                "warn_at": [50, 90],
            },
        ],
    },
    {
        "calendars": {
            "office": {
                "timezone": "Europe/Berlin",
                "hours": {day: ["09:00-12:00", "13:00-17:00"] for day in WEEKDAYS},
                "holidays": ["2026-03-04"],
            }
        },
        "slas": [
            {
                "name": "office resolution",
                "kind": "resolution",
                "target": "6h",
                "calendar": "office",
                "pause_on": ["awaiting_vendor"],
            },
            {
                "name": "office response",
                "kind": "response",
                "target": "1h",
                "calendar": "office",
                "applies_to": {"group": ["network", "service-desk"]},
            },
        ],
    },
]


def fields_for(data: st.DataObject, names: tuple[str, ...]) -> dict[str, Any]:
    """The command's fields: mostly present and valid; sometimes left out or bad."""
    fields: dict[str, Any] = {}
    for name in names:
        valid, bad = VALUES[name]
        roll = data.draw(st.integers(0, 11), label=f"{name}: 0 leave out, 1 bad")
        if roll == 0:
            continue
        choices = bad if roll == 1 and bad else valid
        fields[name] = data.draw(st.sampled_from(choices), label=name)
    return fields


def replay(events: list[TicketEvent]) -> Any:
    state: Any = None
    for event in events:
        state = event.mutate(state)
    return state


def comparable(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in aggregate.__dict__.items() if k != "_pending_events"}


class DeskMachine(RuleBasedStateMachine):
    """A Desk on memory:// under a random stream of commands."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimulatedClock(START)
        self.desk: Desk = open_desk("memory://", clock=self.clock, wall_clock=self.clock)
        self.final: dict[str, tuple[str, int]] = {}
        self.command_ids = 0
        self.last_command_id: str | None = None

    def teardown(self) -> None:
        self.desk.close()

    # ------------------------------------------------------------------ running commands

    def _execute(self, name: str, fields: dict[str, Any], **options: Any) -> None:
        """Run one command; a rejection must leave the whole log untouched."""
        before = self.desk.recorder.max_notification_id()
        result: CommandResult | None = None
        rejection: DeskLedgerError | None = None
        try:
            result = self.desk.execute(name, fields, **options)
        except DeskLedgerError as error:
            rejection = error
        after = self.desk.recorder.max_notification_id()
        if result is None:
            assert before == after, f"rejected {name} {fields} ({rejection!r}) wrote events"
        elif result.duplicate:
            assert before == after, f"duplicate {name} {fields} wrote events"
        else:
            assert len(result.positions) == (after or 0) - (before or 0)

    def _options(self, data: st.DataObject, ref: str) -> dict[str, Any]:
        options: dict[str, Any] = {"actor": data.draw(st.sampled_from(ACTORS), label="as")}
        roll = data.draw(st.integers(0, 5), label="command_id: 0 retry last, 1-2 fresh")
        if roll == 0 and self.last_command_id is not None:
            options["command_id"] = self.last_command_id
        elif roll in {1, 2}:
            self.command_ids += 1
            options["command_id"] = self.last_command_id = f"cmd-{self.command_ids}"
        if data.draw(st.integers(0, 5), label="expected_version?") == 0:
            try:
                current = self.desk.get_ticket(ref).version
            except TicketNotFoundError:
                current = 0
            delta = data.draw(st.sampled_from([0, 0, -1, 1]), label="version delta")
            options["expected_version"] = current + delta
        if data.draw(st.integers(0, 7), label="past at?") == 0:
            options["at"] = self.clock.now() - timedelta(hours=1)
        return options

    # ------------------------------------------------------------------ rules

    @initialize(policy=st.sampled_from(POLICIES))
    def open_first(self, policy: dict[str, Any]) -> None:
        self.desk.load_policy(policy, actor="admin")
        self._execute(
            "open",
            {"ref": REFS[0], "title": "t", "caller": CALLER, "impact": 1, "urgency": 1},
            actor="monitoring",
        )

    @rule(data=st.data())
    def open_ticket(self, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(REFS), label="ref")
        fields: dict[str, Any] = {
            "ref": ref,
            "title": data.draw(st.sampled_from(["Printer jam"] * 6 + ["", None]), label="title"),
            "caller": data.draw(st.sampled_from([CALLER, CALLER, CALLER, ""]), label="caller"),
            "kind": data.draw(st.sampled_from(["incident", "incident", "service_request"])),
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        fields.update(fields_for(data, ("impact", "urgency", "group", "assignee")))
        self._execute("open", fields, **self._options(data, ref))

    def _ref(self, data: st.DataObject) -> str:
        """Mostly a ticket that exists; sometimes any ref, or one that never exists."""
        opened = [ref for ref in REFS if ref in self.desk.refs()]
        roll = data.draw(st.integers(0, 9), label="ref: 0 unknown, 1 any")
        if roll == 0:
            return UNKNOWN
        pool = opened if roll > 1 and opened else list(REFS)
        return data.draw(st.sampled_from(pool), label="ref")

    def _command(self, data: st.DataObject, name: str) -> None:
        ref = self._ref(data)
        fields = {"ref": ref, **fields_for(data, FIELDS[name])}
        self._execute(name, fields, **self._options(data, ref))

    @rule(
        data=st.data(),
        name=st.sampled_from(["start", "hold", "resume", "resolve", "reopen", "close", "cancel"]),
    )
    def transition(self, data: st.DataObject, name: str) -> None:
        self._command(data, name)

    @rule(
        data=st.data(),
        name=st.sampled_from(
            ["assign", "comment", "reprioritize", "escalate", "link_problem", "update"]
        ),
    )
    def stateless(self, data: st.DataObject, name: str) -> None:
        self._command(data, name)

    @rule(
        data=st.data(),
        name=st.sampled_from(
            [
                "declare_major",
                "link_child",
                "communicate",
                "review",
                "assign_roles",
                "record_impact",
            ]
        ),
    )
    def major_incident(self, data: st.DataObject, name: str) -> None:
        """Mostly on a major incident, if there is one: its commands are refused elsewhere."""
        majors = [ref for ref in REFS if self._is_major(ref)]
        if name == "declare_major" or not majors or data.draw(st.integers(0, 2)) == 0:
            self._command(data, name)
            return
        ref = data.draw(st.sampled_from(majors), label="major ref")
        state = self.desk.get_ticket(ref).state
        if name == "review" and state in {"new", "in_progress", "on_hold"}:
            # a review needs a resolved major incident: resolve it first (children follow)
            self._execute("resolve", {"ref": ref, "code": "fixed", "notes": "done"}, actor="mim")
        fields = {"ref": ref, **fields_for(data, FIELDS[name])}
        self._execute(name, fields, **self._options(data, ref))

    def _is_major(self, ref: str) -> bool:
        try:
            return self.desk.get_ticket(ref).major
        except TicketNotFoundError:
            return False

    @rule(minutes=st.integers(0, 3 * 24 * 60))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def tick(self) -> None:
        self.desk.advance()

    @rule(policy=st.sampled_from(POLICIES))
    def load_policy(self, policy: dict[str, Any]) -> None:
        self.desk.load_policy(policy, actor="admin")

    # ------------------------------------------------------------------ invariants

    def _tickets(self) -> list[tuple[str, Any, list[TicketEvent]]]:
        found = []
        for ref in REFS:
            try:
                events = self.desk.ticket_events(ref)
            except TicketNotFoundError:
                continue
            found.append((ref, self.desk.get_ticket(ref), events))
        return found

    @invariant()
    def final_states_stay_final(self) -> None:
        for ref, ticket, _ in self._tickets():
            if ref in self.final:
                assert self.final[ref] == (ticket.state, ticket.version), f"{ref} changed"
            elif ticket.state in FINAL:
                self.final[ref] = (ticket.state, ticket.version)

    @invariant()
    def counters_match_history(self) -> None:
        for ref, ticket, events in self._tickets():
            reopened = sum(isinstance(e, Reopened) for e in events)
            assert reopened == ticket.reopen_count, ref
            group_changes = 0
            group = getattr(events[0], "assignment_group", None)
            for event in events[1:]:
                if hasattr(event, "assignment_group"):
                    if event.assignment_group != group:
                        group_changes += 1
                    group = event.assignment_group
            assert group_changes == ticket.reassignment_count, ref
            assert group == ticket.assignment_group, ref
            escalations = [e for e in events if isinstance(e, FunctionallyEscalated)]
            assert ticket.tier == max([1, *(e.tier for e in escalations)]), ref

    @invariant()
    def replay_equals_live(self) -> None:
        for ref, ticket, events in self._tickets():
            live = self.desk.repository.get(ticket_id(ref))
            assert comparable(replay(events)) == comparable(live), ref
            assert comparable(ticket) == comparable(live), ref
            as_of_now = self.desk.get_ticket(ref, as_of=self.clock.now())
            assert comparable(as_of_now) == comparable(live), ref
            assert list(range(1, len(events) + 1)) == [e.originator_version for e in events]
            assert len(events) == ticket.version
            assert all(a.occurred_at <= b.occurred_at for a, b in itertools.pairwise(events))

    @invariant()
    def chains_verify(self) -> None:
        report = self.desk.verify()
        assert report.ok, [str(p) for p in report.problems]
        assert report.events == (self.desk.recorder.max_notification_id() or 0)


DeskMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDeskMachine = pytest.mark.timeout(600)(DeskMachine.TestCase)
