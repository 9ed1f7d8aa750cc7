"""Snapshots (eventsourcing's) only speed up loading: a ticket loaded from a snapshot plus
later events equals the ticket replayed from all its events, on every durable store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from engine.application import Desk
from engine.clock import SimulatedClock
from engine.snapshots import SNAPSHOT_INTERVAL
from engine.ticket import Ticket


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
