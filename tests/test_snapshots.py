"""Snapshots (eventsourcing's) only speed up loading: a ticket loaded from a snapshot plus
later events equals the ticket replayed from all its events, on every durable store; and a
snapshot is a cache, never evidence: an edited one is never read and verify reports it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from engine.application import Desk
from engine.clock import SimulatedClock
from engine.snapshots import SNAPSHOT_INTERVAL, TicketSnapshot, state_digest
from engine.ticket import Ticket
from engine.verify import verify_log
from projections.queries import Queries
from projections.views import open_views


def _state(ticket: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(ticket).items() if k != "_pending_events"}


def test_ticket_loaded_from_a_snapshot_equals_its_replay(
    shared_store_url: str, open_store: Callable[[str], Desk], clock: SimulatedClock
) -> None:
    """Past the snapshot interval, a fresh Desk loads the snapshot (phases and SLA timers
    included) and the result equals folding every stored event."""
    desk = open_store(shared_store_url)
    desk.load_policy(
        {
            "slas": [
                {"name": "R", "kind": "resolution", "target": "4h", "pause_on": ["awaiting_caller"]}
            ]
        },
        actor="admin",
    )
    desk.execute(
        "open", {"ref": "INC1", "title": "t", "caller": "c", "impact": 1, "urgency": 1}, actor="a"
    )
    for step in range(SNAPSHOT_INTERVAL + 10):
        clock.advance(timedelta(minutes=1))
        if step % 2 == 0:
            desk.execute(
                "hold", {"ref": "INC1", "reason": "awaiting_caller", "comment": "?"}, actor="a"
            )
        else:
            desk.execute("resume", {"ref": "INC1"}, actor="a")
    fresh = open_store(shared_store_url)
    assert fresh.snapshots is not None
    snapshots = list(fresh.snapshots.get(fresh.get_ticket("INC1").id))
    assert [s.originator_version for s in snapshots] == [SNAPSHOT_INTERVAL]
    loaded = fresh.repository.get(fresh.get_ticket("INC1").id)
    replayed: Ticket | None = None
    for event in fresh.ticket_events("INC1"):
        replayed = event.mutate(replayed)
    assert _state(replayed) == _state(loaded)
    assert loaded.version == SNAPSHOT_INTERVAL + 12  # opened, SLA timer, then the steps
    assert fresh.verify().ok


# ---------------------------------------------------------------------- forged snapshots


def _long_ticket(desk: Desk, clock: SimulatedClock) -> None:
    desk.execute(
        "open",
        {"ref": "INC1", "title": "Printer", "caller": "c", "impact": 2, "urgency": 2},
        actor="a",
    )
    for step in range(SNAPSHOT_INTERVAL + 4):
        clock.advance(timedelta(minutes=1))
        desk.execute("comment", {"ref": "INC1", "text": f"note {step}"}, actor="a")


def _edit_snapshot(path: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite the snapshot's stored JSON with ``change`` applied to it."""
    with sqlite3.connect(path) as db:
        (state,) = db.execute("SELECT state FROM stored_snapshots").fetchone()
        snapshot = json.loads(state)
        change(snapshot)
        db.execute("UPDATE stored_snapshots SET state = ?", (json.dumps(snapshot).encode(),))
    db.close()


def _retitle(snapshot: dict[str, Any]) -> None:
    snapshot["state"]["title"] = "FORGED"


def test_an_edited_snapshot_is_reported_and_never_read(
    sqlite_url: str, open_store: Callable[[str], Desk], clock: SimulatedClock
) -> None:
    """A snapshot whose state was edited (the title) fails its digest: verify reports it by
    ticket and version, and reads — the ticket, show through the views — rebuild the ticket
    from its events instead, telling the desk which snapshot was skipped."""
    _long_ticket(open_store(sqlite_url), clock)
    _edit_snapshot(sqlite_url.removeprefix("sqlite:///"), _retitle)
    fresh = open_store(sqlite_url)
    report = fresh.verify()
    assert [(p.kind, p.ticket, p.version) for p in report.problems] == [
        ("snapshot", "INC1", SNAPSHOT_INTERVAL)
    ]
    assert fresh.get_ticket("INC1").title == "Printer"
    assert [
        (version, "digest" if "digest" in why else why)
        for _, version, why in fresh.ignored_snapshots
    ] == [(SNAPSHOT_INTERVAL, "digest")]
    assert Queries(open_views(fresh)).ticket("INC1")["title"] == "Printer"


def test_a_snapshot_forged_with_a_fresh_digest_is_caught_by_verify(
    sqlite_url: str, open_store: Callable[[str], Desk], clock: SimulatedClock
) -> None:
    """A forger who recomputes the digest passes the read's cheap check; verify replays the
    events and reports that the snapshot is not the state they produce."""
    _long_ticket(open_store(sqlite_url), clock)

    def forge(snapshot: dict[str, Any]) -> None:
        _retitle(snapshot)
        decoded = open_store(sqlite_url).mapper.transcoder.decode(json.dumps(snapshot).encode())
        snapshot["digest"] = state_digest(decoded["state"])

    _edit_snapshot(sqlite_url.removeprefix("sqlite:///"), forge)
    problems = open_store(sqlite_url).verify().problems
    assert [(p.kind, p.ticket, p.version) for p in problems] == [
        ("snapshot", "INC1", SNAPSHOT_INTERVAL)
    ]
    assert "not the state its events produce" in problems[0].detail


def test_verify_asks_only_the_streams_that_have_snapshots(
    shared_store_url: str, open_store: Callable[[str], Desk], clock: SimulatedClock
) -> None:
    """On SQLite and PostgreSQL the store lists the streams with snapshots in one query, and
    verify asks only those for their snapshots (not every ticket of the log), with the same
    findings as asking every ticket: here a snapshot forged on a short ticket."""
    desk = open_store(shared_store_url)
    _long_ticket(desk, clock)
    for ref in ("INC2", "INC3"):
        desk.execute(
            "open", {"ref": ref, "title": "Mouse", "caller": "c", "impact": 3, "urgency": 3},
            actor="a",
        )  # fmt: skip
    forged = desk.get_ticket("INC2")
    forged.title = "FORGED"
    assert desk.snapshots is not None
    desk.snapshots.put([TicketSnapshot.take(forged)])  # with a digest of its forged state
    fresh = open_store(shared_store_url)
    assert fresh.snapshots is not None
    asked: list[Any] = []
    get = fresh.snapshots.get
    fresh.snapshots.get = lambda stream, **kwargs: asked.append(stream) or get(stream, **kwargs)  # type: ignore[method-assign]
    report = fresh.verify()
    assert sorted(asked) == sorted({fresh.get_ticket(ref).id for ref in ("INC1", "INC2")})
    every = verify_log(fresh.recorder, fresh.mapper, snapshots=fresh.snapshots, events=fresh.events)
    assert report.as_dict() == every.as_dict()
    assert [(p.kind, p.ticket, p.version) for p in report.problems] == [("snapshot", "INC2", 1)]
