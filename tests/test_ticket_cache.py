"""A Desk keeps the tickets it saved: its next command on one reads nothing of the ticket when
the log did not move, catches up with what other writers recorded when it did, and never
keeps the half-changed ticket of a command that failed. Loading a long ticket from the store
replays at most a snapshot interval of its events."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from engine.application import Desk
from engine.clock import SimulatedClock
from engine.errors import CommandValidationError
from engine.ids import ticket_id
from engine.snapshots import SNAPSHOT_INTERVAL


def _open(desk: Desk, ref: str, impact: int = 2, urgency: int = 2) -> None:
    desk.execute(
        "open",
        {"ref": ref, "title": "Printer", "caller": "c", "impact": impact, "urgency": urgency},
        actor="a",
    )


def _comment(desk: Desk, ref: str, text: str) -> int:
    return desk.execute("comment", {"ref": ref, "text": text}, actor="a").version


def _reads_of(desk: Desk, ref: str) -> list[Any]:
    """Every read of ``ref``'s stream the Desk makes from now on (a spy on its recorder)."""
    reads: list[Any] = []
    recorder = desk.events.recorder
    select_events = recorder.select_events

    def spy(originator_id: Any, **kwargs: Any) -> Any:
        found = select_events(originator_id, **kwargs)
        if originator_id == ticket_id(ref):
            reads.append(found)
        return found

    recorder.select_events = spy  # type: ignore[method-assign]
    return reads


def test_the_next_command_on_a_saved_ticket_reads_nothing_of_it(
    shared_store_url: str, open_store: Callable[[str], Desk]
) -> None:
    """The Desk that saved a ticket runs its next command on the ticket it kept — also after
    its own writes to other tickets: no read of the ticket's stream, the same result as a
    Desk that loads it."""
    desk = open_store(shared_store_url)
    _open(desk, "INC1")
    reads = _reads_of(desk, "INC1")
    assert 2 == _comment(desk, "INC1", "first")
    _open(desk, "INC2")
    _comment(desk, "INC2", "elsewhere")
    assert 3 == _comment(desk, "INC1", "second")
    assert [] == reads
    fresh = open_store(shared_store_url)
    assert fresh.get_ticket("INC1").__dict__ == desk.get_ticket("INC1").__dict__


def test_a_kept_ticket_catches_up_with_another_desks_writes(
    shared_store_url: str, open_store: Callable[[str], Desk]
) -> None:
    """Desk B writes to a ticket Desk A kept; A's next command applies B's events first (one
    read of what the stream got since) and records after them."""
    first, second = open_store(shared_store_url), open_store(shared_store_url)
    _open(first, "INC1")
    assert 2 == _comment(second, "INC1", "from B")
    second.execute("hold", {"ref": "INC1", "reason": "awaiting_vendor"}, actor="b")
    assert 4 == _comment(first, "INC1", "from A")
    ticket = first.get_ticket("INC1")
    assert ("on_hold", 2) == (ticket.state, ticket.comment_count)
    assert first.verify().ok


def test_a_failed_command_leaves_no_half_changed_ticket_behind(memory_desk: Desk) -> None:
    """link_child records ChildLinked on the major incident, then the child refuses (it has a
    parent already): nothing is written, and the next command on the major incident starts
    from what the store holds, not from the object the failed command changed."""
    for ref in ("INC1", "INC2"):
        _open(memory_desk, ref, impact=1, urgency=1)
        memory_desk.execute("declare_major", {"ref": ref, "reason": "outage"}, actor="mim")
    _open(memory_desk, "INC3")
    memory_desk.execute("link_child", {"ref": "INC1", "child": "INC3"}, actor="mim")
    version = memory_desk.get_ticket("INC2").version
    with pytest.raises(CommandValidationError):
        memory_desk.execute("link_child", {"ref": "INC2", "child": "INC3"}, actor="mim")
    assert version + 1 == _comment(memory_desk, "INC2", "still down")
    assert [] == memory_desk.get_ticket("INC2").children
    assert memory_desk.verify().ok


def test_a_long_ticket_is_loaded_from_its_snapshot(
    shared_store_url: str, open_store: Callable[[str], Desk], clock: SimulatedClock
) -> None:
    """A Desk that did not save a ticket loads it from its latest snapshot: it reads fewer
    than a snapshot interval of the ticket's events, however long the ticket is."""
    desk = open_store(shared_store_url)
    _open(desk, "INC1")
    for step in range(2 * SNAPSHOT_INTERVAL + 5):
        clock.advance(timedelta(minutes=1))
        _comment(desk, "INC1", f"note {step}")
    fresh = open_store(shared_store_url)
    reads = _reads_of(fresh, "INC1")
    version = _comment(fresh, "INC1", "one more")
    assert 2 * SNAPSHOT_INTERVAL + 7 == version
    assert sum(len(found) for found in reads) < SNAPSHOT_INTERVAL
    assert fresh.verify().ok
