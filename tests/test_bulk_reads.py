"""What a bulk unit of work (an import) reads: the policy in force once for all its commands,
and which of the tickets it names exist in one query, so that opening the others reads
nothing of the store. Whatever it skips, its commands behave as one at a time would."""

# ruff: noqa: SIM300 - `assert expected == actual`, as in the other tests

from __future__ import annotations

from typing import Any

import pytest

from engine.application import Desk
from engine.errors import DuplicateTicketError

OPEN = {"title": "Printer", "caller": "c", "impact": 2, "urgency": 2}
ONES = {impact: dict.fromkeys((1, 2, 3), 1) for impact in (1, 2, 3)}


def _counting(desk: Desk, method: str) -> list[Any]:
    """Every call of the recorder's ``method`` from now on (a spy)."""
    calls: list[Any] = []
    recorder: Any = desk.recorder
    original = getattr(recorder, method)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original(*args, **kwargs)

    setattr(recorder, method, spy)
    return calls


def test_a_bulk_unit_reads_no_stream_to_open_tickets_it_was_told_are_new(desk: Desk) -> None:
    desk.execute("open", {"ref": "INC1", **OPEN}, actor="a")
    reads = _counting(desk, "select_events")
    with desk.unit_of_work():
        desk.expect_tickets(["INC1", "INC2", "INC3", "not a ref!"])
        asked = len(reads)
        for ref in ("INC2", "INC3"):
            desk.execute("open", {"ref": ref, **OPEN}, actor="a", command_id=f"open-{ref}")
        assert asked == len(reads)
        with pytest.raises(DuplicateTicketError):
            desk.execute("open", {"ref": "INC1", **OPEN}, actor="a", command_id="again")
    assert ["INC1", "INC2", "INC3"] == desk.refs()


def test_the_store_tells_which_streams_it_holds(desk: Desk) -> None:
    """SQLite and PostgreSQL answer in one query; other stores stream by stream."""
    desk.execute("open", {"ref": "INC1", **OPEN}, actor="a")
    with desk.unit_of_work():
        desk.expect_tickets(["INC1", "INC2"])
        assert "INC1" == desk.get_ticket("INC1").ref
        with pytest.raises(DuplicateTicketError):
            desk.execute("open", {"ref": "INC1", **OPEN}, actor="a", command_id="again")
        desk.execute("open", {"ref": "INC2", **OPEN}, actor="a", command_id="new")
    assert ["INC1", "INC2"] == desk.refs()


def _counting_heads(desk: Desk) -> list[Any]:
    """Every read of the log's head from now on: through the desk's own head reader where
    the store has one (a SQLite file), else through the recorder."""
    reader = desk.head_reader
    if reader is None:
        return _counting(desk, "max_notification_id")
    calls: list[Any] = []

    class Counting:
        def __call__(self) -> int:
            calls.append(())
            return reader()

        def close(self) -> None:
            reader.close()

    desk.head_reader = Counting()
    return calls


def test_a_bulk_unit_reads_the_policy_once(desk: Desk) -> None:
    heads = _counting_heads(desk)
    with desk.unit_of_work():
        for number in range(5):
            desk.execute("open", {"ref": f"INC{number}", **OPEN}, actor="a")
    assert 1 == len(heads)


def test_a_policy_loaded_in_a_bulk_unit_is_in_force_for_its_later_commands(desk: Desk) -> None:
    with desk.unit_of_work():
        desk.execute("open", {"ref": "INC1", **OPEN}, actor="a")
        desk.load_policy({"priority_matrix": ONES}, actor="a")
        desk.execute("open", {"ref": "INC2", **OPEN}, actor="a")
    assert (3, 1) == (desk.get_ticket("INC1").priority, desk.get_ticket("INC2").priority)
