"""The views always equal a rebuild from scratch, and their as-of answers equal a replay.

The random command histories of ``test_stateful`` drive a Desk; after every step the views
catch up with the log (small batches, as a busy CLI would). Then:

- every table of the views equals the same table rebuilt from the whole log in one go;
- at random instants, each ticket (§9 fields, ``made_sla`` included) and each SLA timer as the
  views answer it equals the ticket replayed from its events up to that instant;
- a crash in the middle of a batch leaves no partial rows and, after a restart, no double
  count: the views still equal a rebuild.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from engine.errors import TicketNotFoundError
from engine.views import VIEW_FIELDS, ticket_view
from projections.queries import Queries
from projections.views import DeskViews, open_views
from tests.conftest import START
from tests.test_stateful import REFS, DeskMachine

TABLES = (
    "tickets",
    "ticket_versions",
    "sla_timers",
    "sla_timer_versions",
    "damaged",
    "audit_index",
    "tickets_tracking",
    "audit_tracking",
)
#: Every field of a ticket's view: the replay and the views must agree on all of them.
SHARED_KEYS = VIEW_FIELDS


def dump(views: DeskViews) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, sorted."""
    views.ensure()
    store = views.tickets
    return {
        table: sorted(
            (tuple(sorted(row.items())) for row in store.rows(f"SELECT * FROM {{{table}}}")),
            key=repr,
        )
        for table in TABLES
    }


def replayed_timers(desk: Any, ref: str, at: Any) -> list[dict[str, Any]]:
    ticket = desk.get_ticket(ref, as_of=at)
    return [
        {
            "ref": ref,
            "name": s.name,
            "stage": str(s.stage),
            "elapsed_seconds": s.elapsed_seconds,
            "due_at": s.due_at.isoformat() if s.due_at else None,
            "breached_at": s.breached_at.isoformat() if s.breached_at else None,
        }
        for s in desk.sla_status(ticket, at)
    ]


def assert_as_of_equals_replay(desk: Any, queries: Queries, at: Any) -> None:
    for ref in REFS:
        try:
            replayed = desk.get_ticket(ref, as_of=at)
        except TicketNotFoundError:
            with pytest.raises(TicketNotFoundError):
                queries.ticket(ref, as_of=at)
            continue
        expected = ticket_view(replayed, desk.sla_status(replayed, at))
        answered = queries.ticket(ref, as_of=at)
        assert {k: expected[k] for k in SHARED_KEYS} == {k: answered[k] for k in SHARED_KEYS}
        timers = [
            {k: t[k] for k in ("ref", "name", "stage", "elapsed_seconds", "due_at", "breached_at")}
            for t in queries.sla(ref, as_of=at)
        ]
        assert replayed_timers(desk, ref, at) == timers, ref


class ViewsMachine(DeskMachine):
    """The command machine, with the views following the log after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.views = open_views(self.desk)
        self.queries = Queries(self.views)

    @invariant()
    def views_follow_the_log(self) -> None:
        self.views.catch_up()
        head = self.desk.recorder.max_notification_id() or 0
        assert all(position == head for position in self.views.positions().values())

    @precondition(lambda self: self.desk.recorder.max_notification_id())
    @rule(data=st.data())
    def as_of_equals_replay(self, data: st.DataObject) -> None:
        """At a random instant, or exactly at (or a microsecond around) an event or an SLA
        due time, where off-by-one mistakes live."""
        span = int((self.clock.now() - START).total_seconds())
        interesting = sorted(self._instants())
        if interesting and data.draw(st.booleans(), label="interesting instant?"):
            at = data.draw(st.sampled_from(interesting), label="instant")
            at += timedelta(microseconds=data.draw(st.sampled_from([-1, 0, 1]), label="nudge"))
        else:
            at = START + timedelta(seconds=data.draw(st.integers(0, max(span, 0)), label="at"))
        assert_as_of_equals_replay(self.desk, self.queries, at)

    def _instants(self) -> set[Any]:
        found = set()
        for ref in REFS:
            try:
                ticket = self.desk.get_ticket(ref)
            except TicketNotFoundError:
                continue
            found.update(phase.at for phase in ticket.phases)
            found.update(s.due_at for s in self.desk.sla_status(ticket) if s.due_at)
        return found

    def teardown(self) -> None:
        try:
            rebuilt = open_views(self.desk)
            rebuilt.catch_up(batch=100_000)
            assert dump(rebuilt) == dump(self.views)
            assert_as_of_equals_replay(self.desk, self.queries, self.clock.now())
        finally:
            super().teardown()


ViewsMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestViewsMachine = pytest.mark.timeout(900)(ViewsMachine.TestCase)


# ---------------------------------------------------------------------- crash mid-batch


class Crash(Exception):  # noqa: N818 - a simulated power cut, not an error of the code
    """Raised half-way through writing a batch."""


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=0, max_value=5))
def test_a_crash_mid_batch_leaves_nothing_and_a_restart_no_double_count(cut: int) -> None:
    """The tickets view raises after ``cut`` statements of a batch: nothing of that batch
    is kept, and views opened afresh catch up to exactly what a rebuild gives."""
    machine = DeskMachine()
    try:
        machine.open_first(machine_policy())
        desk = machine.desk
        for minutes, (name, fields) in enumerate(HISTORY, start=1):
            machine.clock.advance(timedelta(minutes=minutes))
            desk.execute(name, fields, actor="agent")
        views = open_views(desk)
        before = dump(views)
        store = views.tickets
        original = store.executemany
        calls = 0

        def flaky(cursor: Any, statement: str, rows: Any) -> None:
            nonlocal calls
            calls += 1
            if calls > cut:
                raise Crash
            original(cursor, statement, rows)

        store.executemany = flaky  # type: ignore[method-assign]
        with pytest.raises(Crash):
            views.catch_up()
        store.executemany = original  # type: ignore[method-assign]
        assert dump(views)["tickets"] == before["tickets"]
        assert dump(views)["ticket_versions"] == before["ticket_versions"]
        restarted = DeskViews(desk, views.tickets, views.audit)
        restarted.catch_up()
        rebuilt = open_views(desk)
        rebuilt.catch_up()
        assert dump(rebuilt) == dump(restarted)
    finally:
        machine.teardown()


def machine_policy() -> dict[str, Any]:
    return {
        "slas": [
            {"name": "P1", "kind": "resolution", "applies_to": {"priority": [1]}, "target": "4h"},
            {"name": "response", "kind": "response", "target": "30m"},
        ]
    }


HISTORY: list[tuple[str, dict[str, Any]]] = [
    ("assign", {"ref": "INC0001", "group": "network", "assignee": "bob"}),
    ("open", {"ref": "INC0002", "title": "VPN", "caller": "c", "impact": 2, "urgency": 2}),
    ("hold", {"ref": "INC0002", "reason": "awaiting_vendor"}),
    ("comment", {"ref": "INC0001", "text": "on it"}),
    ("resume", {"ref": "INC0002"}),
    ("resolve", {"ref": "INC0001", "code": "fixed", "notes": "restarted"}),
    ("reopen", {"ref": "INC0001", "reason": "again"}),
]
