"""The policy in force is cached, and still the one current at each command's time: a policy
loaded by another Desk on the same store (another process) applies to the next command."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.application import Desk
from engine.errors import CommandValidationError
from engine.ids import policy_registry_id

FIRST: dict[str, Any] = {"slas": [{"name": "Response", "kind": "response", "target": "1h"}]}
SECOND: dict[str, Any] = {
    "slas": [{"name": "Resolution", "kind": "resolution", "target": "8h"}],
    "limits": {"title": 10},
}


def _open(desk: Desk, ref: str, title: str = "Printer") -> None:
    desk.execute(
        "open", {"ref": ref, "title": title, "caller": "c", "impact": 2, "urgency": 2}, actor="a"
    )


def _timers(desk: Desk, ref: str) -> list[tuple[str, int]]:
    return [(t.name, t.policy_version) for t in desk.get_ticket(ref).sla_timers]


def test_a_policy_loaded_by_another_desk_applies_to_the_next_command(
    shared_store_url: str, open_store: Callable[[str], Desk]
) -> None:
    """Desk A caches the policy in force; Desk B (another process, in effect) loads a new
    version; A's next command runs under it: its timers, its text limits, its version."""
    first, second = open_store(shared_store_url), open_store(shared_store_url)
    first.load_policy(FIRST, actor="admin")
    _open(first, "INC1")
    _open(first, "INC2", title="A long printer title")
    second.load_policy(SECOND, actor="admin")
    _open(first, "INC3")
    with pytest.raises(CommandValidationError) as rejected:
        _open(first, "INC4", title="A long printer title")
    assert ("title", "INC4") == (rejected.value.field, rejected.value.ref)
    assert [("Response", 1)] == _timers(first, "INC1")
    assert [("Resolution", 2)] == _timers(first, "INC3")
    assert (1, 2) == (first.get_ticket("INC1").policy_version, first.policy().version)
    first.load_policy(FIRST, actor="admin")
    _open(second, "INC5")
    assert [("Response", 3)] == _timers(second, "INC5")


def test_the_registry_is_read_again_only_when_the_log_moved(
    shared_store_url: str, open_store: Callable[[str], Desk]
) -> None:
    """One read of the log's head per command says whether the cached version is current:
    a Desk's own commands do not read the policy registry again; another Desk's write does
    make the next command look (and find the version unchanged)."""
    first, second = open_store(shared_store_url), open_store(shared_store_url)
    first.load_policy(FIRST, actor="admin")
    reads: list[Any] = []
    recorder = first.events.recorder
    select_events = recorder.select_events

    def counting(originator_id: Any, **kwargs: Any) -> Any:
        if originator_id == policy_registry_id():
            reads.append(kwargs)
        return select_events(originator_id, **kwargs)

    recorder.select_events = counting  # type: ignore[method-assign]
    _open(first, "INC1")
    looked = len(reads)
    _open(first, "INC2")
    first.execute("comment", {"ref": "INC1", "text": "still jammed"}, actor="a")
    assert looked == len(reads)
    _open(second, "INC3")
    _open(first, "INC4")
    assert looked + 1 == len(reads)
    assert [("Response", 1)] == _timers(first, "INC4")


def test_a_sqlite_desk_reads_the_head_on_its_own_connection(
    sqlite_url: str, open_store: Callable[[str], Desk]
) -> None:
    """On a SQLite file the head is read on a connection kept for it (cheaper than the
    recorder's pooled read): it sees every commit, its own desk's and another's, as the
    recorder does, and it is closed with the desk."""
    first, second = open_store(sqlite_url), open_store(sqlite_url)
    reader = first.head_reader
    assert reader is not None
    assert 0 == reader()
    first.load_policy(FIRST, actor="admin")
    _open(first, "INC1")
    mine = reader()
    assert first.recorder.max_notification_id() == mine
    _open(second, "INC2")
    assert second.recorder.max_notification_id() == reader() > mine
    first.close()
    assert getattr(reader, "_connection", "none") is None  # closed with the desk
