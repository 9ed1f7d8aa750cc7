"""Tamper evidence on a real SQLite file (docs/concepts.md): verify names what was changed, and
where.

Each test builds the same small history (3 tickets, 15 events) through the engine, closes
nothing, then edits the file behind the engine's back with the ``sqlite3`` module — the way
an insider with file access would. eventsourcing's SQLite recorder keeps events in
``stored_events(originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB)``
with the ``rowid`` as the log position and ``state`` as the event's JSON.

Every verdict is checked twice: on the Desk that wrote the history and on a fresh Desk opened
on the tampered file (what another process, or the CLI, sees).
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import dataclasses
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import get_topic

from engine.application import Desk
from engine.chain import seal
from engine.clock import SimulatedClock
from engine.ids import ticket_id
from engine.ticket import facts as ev
from engine.verify import VerifyReport, verify_log

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "adapters.cli"]

#: The history: (ref, command, fields), one every five minutes, interleaving the tickets.
HISTORY: list[tuple[str, str, dict[str, Any]]] = [
    (ref, "open", {"title": "Printer jam", "caller": "carol", "impact": 2, "urgency": 2})
    for ref in ("INC0001", "INC0002", "INC0003")
] + [
    ("INC0001", "assign", {"group": "network", "assignee": "bob"}),  # v2 Assigned, v3 Started
    ("INC0001", "hold", {"reason": "awaiting_vendor"}),  # v4
    ("INC0002", "start", {}),  # v2
    ("INC0001", "resume", {}),  # v5
    ("INC0002", "comment", {"text": "toner ordered"}),  # v3
    ("INC0001", "resolve", {"code": "fixed", "notes": "vendor patch"}),  # v6
    ("INC0003", "assign", {"group": "database"}),  # v2
    ("INC0002", "comment", {"text": "toner arrived"}),  # v4
    ("INC0003", "start", {}),  # v3
    ("INC0003", "resolve", {"code": "fixed", "notes": "index rebuilt"}),  # v4
    ("INC0003", "close", {}),  # v5
]
EVENTS = 15


@dataclasses.dataclass
class Store:
    """The tampered-with store: its file, the Desk that wrote it, and a way to reopen it."""

    path: Path
    url: str
    desk: Desk
    reopen: Callable[[], Desk]

    def connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    def rows(self, ref: str) -> list[tuple[int, int, str, bytes]]:
        """(position, version, topic, state) of one ticket's events, in version order."""
        with self.connect() as db:
            return list(
                db.execute(
                    "SELECT rowid, originator_version, topic, state FROM stored_events "
                    "WHERE originator_id = ? ORDER BY originator_version",
                    (ticket_id(ref).hex,),
                )
            )

    def position(self, ref: str, version: int) -> int:
        return next(pos for pos, ver, _, _ in self.rows(ref) if ver == version)

    def state(self, ref: str, version: int) -> dict[str, Any]:
        raw = next(state for _, ver, _, state in self.rows(ref) if ver == version)
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    def execute(self, statement: str, *args: Any) -> None:
        with self.connect() as db:
            cursor = db.execute(statement, args)
            assert cursor.rowcount != 0, f"tampering statement matched nothing: {statement}"
        db.close()

    def swap_positions(self, first: int, second: int) -> None:
        """Swap the log positions (rowids) of two events."""
        with self.connect() as db:
            db.execute("UPDATE stored_events SET rowid = -1 WHERE rowid = ?", (first,))
            db.execute("UPDATE stored_events SET rowid = ? WHERE rowid = ?", (first, second))
            db.execute("UPDATE stored_events SET rowid = ? WHERE rowid = -1", (second,))
        db.close()

    def verify(self, checkpoint: str | None = None) -> VerifyReport:
        """Verify on the writing Desk and on a fresh one; both must say the same. So must a
        verify that keeps the tip of one stream only (every ticket that comes back is
        checked in detail) and one that asks every stream for its snapshots."""
        report = self.desk.verify(checkpoint)
        fresh = self.reopen().verify(checkpoint)
        assert report.as_dict() == fresh.as_dict()
        desk = self.reopen()
        narrow = verify_log(
            desk.recorder, desk.mapper, checkpoint, snapshots=desk.snapshots,
            events=desk.events, snapshot_streams=None, tips=1,
        )  # fmt: skip
        assert report.as_dict() == narrow.as_dict()
        return report


def problems(report: VerifyReport) -> list[tuple[str, str, int | None, int | None]]:
    return [(p.kind, p.ticket, p.position, p.version) for p in report.problems]


@pytest.fixture
def store(tmp_path: Path, clock: SimulatedClock, open_store: Callable[[str], Desk]) -> Store:
    """The 15-event history on a real SQLite file."""
    path = tmp_path / "ledger.db"
    url = f"sqlite:///{path.resolve()}"
    desk = open_store(url)
    for ref, name, fields in HISTORY:
        clock.advance(timedelta(minutes=5))
        desk.execute(name, {"ref": ref, **fields}, actor="agent")
    assert EVENTS == desk.recorder.max_notification_id()
    return Store(path=path, url=url, desk=desk, reopen=lambda: open_store(url))


# ---------------------------------------------------------------------- untampered


def test_untampered_history_verifies(store: Store) -> None:
    """The untouched file verifies: 15 events in 3 chains, head `<position>:<sha256>`."""
    report = store.verify()
    assert report.ok, report.problems
    assert (EVENTS, 3) == (report.events, report.streams)
    assert re.fullmatch(rf"{EVENTS}:[0-9a-f]{{64}}", report.head)
    assert store.verify(checkpoint=report.head).ok


def test_checkpoint_stays_valid_as_the_log_grows(store: Store, clock: SimulatedClock) -> None:
    """A head noted earlier still checks out after more (honest) work."""
    head = store.verify().head
    clock.advance(timedelta(hours=1))
    store.desk.execute("reopen", {"ref": "INC0001", "reason": "again"}, actor="carol")
    report = store.verify(checkpoint=head)
    assert report.ok, report.problems
    assert head != report.head


def test_malformed_checkpoint_is_rejected(store: Store) -> None:
    """A checkpoint that is not `<position>:<64 hex>` is a ValueError saying so."""
    with pytest.raises(ValueError, match="checkpoint"):
        store.desk.verify(checkpoint="15:abc")


# ---------------------------------------------------------------------- the four verdicts


def test_edited_event_is_altered(store: Store) -> None:
    """Editing an event's JSON (the assignee) is `altered` at that ticket and position."""
    position = store.position("INC0001", 2)
    state = store.state("INC0001", 2)
    assert "bob" == state["assignee"]
    state["assignee"] = "mallory"
    store.execute(
        "UPDATE stored_events SET state = ? WHERE rowid = ?", json.dumps(state).encode(), position
    )
    assert "mallory" == store.reopen().get_ticket("INC0001").assignee  # the edit took effect
    report = store.verify()
    assert not report.ok
    assert [("altered", "INC0001", position, 2)] == problems(report)
    assert f"ticket INC0001 version 2 at position {position}" in str(report.problems[0])


def test_edited_payload_bytes_only_are_altered(store: Store) -> None:
    """A one-character edit inside the stored bytes (no JSON re-encoding) is caught too."""
    position = store.position("INC0003", 4)
    raw = store.rows("INC0003")[3][3]
    assert b"index rebuilt" in raw
    store.execute(
        "UPDATE stored_events SET state = ? WHERE rowid = ?",
        raw.replace(b"index rebuilt", b"index rebuild"),
        position,
    )
    assert [("altered", "INC0003", position, 4)] == problems(store.verify())


def test_deleted_event_is_missing(store: Store) -> None:
    """Deleting an event in the middle of a stream is `missing` at the next event."""
    deleted = store.position("INC0001", 3)
    next_position = store.position("INC0001", 4)
    store.execute("DELETE FROM stored_events WHERE rowid = ?", deleted)
    report = store.verify()
    assert [("missing", "INC0001", next_position, 4)] == problems(report)


def test_copied_event_is_inserted(store: Store) -> None:
    """A copy of an existing row appended with a new version is `inserted`."""
    _, _, topic, state = store.rows("INC0002")[1]  # v2 WorkStarted
    store.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)",
        ticket_id("INC0002").hex,
        5,
        topic,
        state,
    )
    position = store.position("INC0002", 5)
    assert EVENTS + 1 == position
    assert [("inserted", "INC0002", position, 5)] == problems(store.verify())


def test_crafted_event_is_inserted(store: Store) -> None:
    """A hand-written event (valid JSON, made-up hashes) appended to a stream is `inserted`."""
    last = store.state("INC0002", 4)
    forged = {
        **{key: last[key] for key in ("timestamp", "occurred_at", "ref", "source")},
        "actor": "mallory",
        "command_id": None,
        "reason": None,
        "prev_hash": "ab" * 32,
        "hash": "cd" * 32,
        "code": "fixed",
        "notes": "nothing to see",
        "knowledge": None,
        "by_parent": None,
    }
    store.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
        "VALUES (?, ?, ?, ?)",
        ticket_id("INC0002").hex,
        5,
        "engine.events:Resolved",
        json.dumps(forged).encode(),
    )
    assert "resolved" == store.reopen().get_ticket("INC0002").state  # the forgery reads fine
    assert [("inserted", "INC0002", EVENTS + 1, 5)] == problems(store.verify())


def test_adjacent_events_swapped_are_reordered(store: Store) -> None:
    """Swapping the positions of two consecutive events of a ticket is `reordered`."""
    third, fourth = store.position("INC0001", 3), store.position("INC0001", 4)
    store.swap_positions(third, fourth)
    assert third == store.position("INC0001", 4)
    assert [("reordered", "INC0001", third, 4)] == problems(store.verify())


def test_distant_events_swapped_are_reordered(store: Store) -> None:
    """Swapping two non-adjacent events of a ticket: every problem is `reordered` on it, and
    one names an event that moved."""
    third, fifth = store.position("INC0001", 3), store.position("INC0001", 5)
    store.swap_positions(third, fifth)
    found = problems(store.verify())
    assert found
    assert {("reordered", "INC0001")} == {(kind, ticket) for kind, ticket, _, _ in found}
    assert {third, fifth} & {position for _, _, position, _ in found}


def test_swapped_versions_are_reordered(store: Store) -> None:
    """Swapping the stream versions of two consecutive events (positions untouched) breaks
    the chain order: `reordered` on that ticket."""
    key = ticket_id("INC0001").hex
    with store.connect() as db:
        db.execute(
            "UPDATE stored_events SET originator_version = -1 "
            "WHERE originator_id = ? AND originator_version = 3",
            (key,),
        )
        db.execute(
            "UPDATE stored_events SET originator_version = 3 "
            "WHERE originator_id = ? AND originator_version = 4",
            (key,),
        )
        db.execute(
            "UPDATE stored_events SET originator_version = 4 "
            "WHERE originator_id = ? AND originator_version = -1",
            (key,),
        )
    db.close()
    found = problems(store.verify())
    assert found
    assert {("reordered", "INC0001")} == {(kind, ticket) for kind, ticket, _, _ in found}


def test_garbage_state_is_undecodable(store: Store) -> None:
    """Bytes that are not an event any more are reported, not a crash."""
    position = store.position("INC0001", 4)
    store.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", b"{not json", position)
    assert [("undecodable", "INC0001", position, 4)] == problems(store.verify())


def test_event_moved_to_another_ticket(store: Store) -> None:
    """Moving one ticket's event into another ticket's stream is `inserted` there."""
    moved = store.position("INC0001", 6)
    store.execute(
        "UPDATE stored_events SET originator_id = ?, originator_version = 5 WHERE rowid = ?",
        ticket_id("INC0002").hex,
        moved,
    )
    assert ("inserted", "INC0002", moved, 5) in problems(store.verify())


# ---------------------------------------------------------------------- checkpoints


def test_an_edit_before_a_checkpoint_is_altered_and_the_checkpoint_holds(store: Store) -> None:
    """Editing an event's content without re-hashing it shows as altered; the log-wide chain
    runs over the hashes events carry, so a checkpoint taken before still holds (a re-hashed
    rewrite is what refutes it: test_evidence)."""
    head = store.verify().head
    position = store.position("INC0002", 3)
    state = store.state("INC0002", 3)
    state["text"] = "no toner needed"
    store.execute(
        "UPDATE stored_events SET state = ? WHERE rowid = ?", json.dumps(state).encode(), position
    )
    report = store.verify(checkpoint=head)
    kinds = {p.kind for p in report.problems}
    assert {"altered"} == kinds  # the event's own hash catches it; the head runs over hashes
    assert head == report.checkpoint
    assert [True] == [c.confirmed for c in report.checkpoints]


def test_checkpoint_detects_a_deleted_stream_tail(store: Store) -> None:
    """Deleting the last event of a ticket leaves its own chain intact; the global chain
    (a checkpoint noted before) still tells."""
    head = store.verify().head
    store.execute("DELETE FROM stored_events WHERE rowid = ?", store.position("INC0001", 6))
    report = store.verify(checkpoint=head)
    assert ["checkpoint"] == [p.kind for p in report.problems]


def test_checkpoint_detects_a_deleted_log_tail(store: Store) -> None:
    """Deleting the event at the checkpoint's own position is reported too."""
    head = store.verify().head
    store.execute("DELETE FROM stored_events WHERE rowid = ?", EVENTS)
    report = store.verify(checkpoint=head)
    assert [("checkpoint", "log", EVENTS, None)] == problems(report)


def test_checkpoint_detects_reordering(store: Store) -> None:
    """Swapping the positions of two events of different tickets keeps every ticket chain
    in order, but not the global chain."""
    head = store.verify().head
    store.swap_positions(store.position("INC0002", 1), store.position("INC0003", 1))
    report = store.verify(checkpoint=head)
    assert "checkpoint" in {p.kind for p in report.problems}


# ---------------------------------------------------------------------- engine bugs found


def test_event_with_swapped_topic_is_reported_not_a_crash(store: Store) -> None:
    """Changing a row's topic to another event type must be reported by verify (the type is
    part of the hash), never crash it.

    Bug: verify raises AttributeError — the mapper builds a ``Resumed`` without its
    ``by_caller_reply`` field and hashing reads it outside the decode guard."""
    position = store.position("INC0001", 3)  # WorkStarted
    store.execute(
        "UPDATE stored_events SET topic = ? WHERE rowid = ?", "engine.events:Resumed", position
    )
    report = store.verify()
    assert [("INC0001", position)] == [(p.ticket, p.position) for p in report.problems]
    assert report.problems[0].kind in {"altered", "undecodable"}


def _forge(after: dict[str, Any], version: int, ref: str) -> tuple[str, bytes]:
    """A CommentAdded that chains correctly after ``after`` — a forger who read the docs."""
    stamp = datetime.fromisoformat(after["occurred_at"]["_data_"])
    recorded = datetime.fromisoformat(after["timestamp"]["_data_"])
    draft = ev.CommentAdded(  # type: ignore[call-arg]
        originator_id=ticket_id(ref),
        originator_version=version,
        timestamp=recorded,
        ref=ref,
        occurred_at=stamp,
        actor="agent",
        command_id=None,
        command_digest=None,
        reason=None,
        source=None,
        format=2,
        prev_hash=after["hash"],
        hash="",
        text="caller agreed to close",
        visibility="internal",
    )
    state = {
        "timestamp": after["timestamp"],
        "occurred_at": after["occurred_at"],
        "ref": ref,
        "actor": "agent",
        "command_id": None,
        "command_digest": None,
        "reason": None,
        "source": None,
        "format": 2,
        "prev_hash": after["hash"],
        "hash": seal(draft).hash,
        "text": "caller agreed to close",
        "visibility": "internal",
        "class_version": 2,
    }
    return get_topic(ev.CommentAdded), json.dumps(state).encode()


def test_event_inserted_mid_stream_is_inserted(store: Store) -> None:
    """An event forged into the middle of a stream (later versions renumbered up to make
    room, as the (id, version) key forces) is reported `inserted` at its own position.

    Bug: the forged event passes every check and is not reported; the renumbered events
    after it are reported `altered` (their version is hashed), so the auditor is pointed
    at the genuine events and not at the forgery."""
    ref, key = "INC0001", ticket_id("INC0001").hex
    topic, state = _forge(store.state(ref, 2), 3, ref)
    with store.connect() as db:
        db.execute(
            "UPDATE stored_events SET originator_version = -originator_version - 1 "
            "WHERE originator_id = ? AND originator_version >= 3",
            (key,),
        )
        db.execute(
            "UPDATE stored_events SET originator_version = -originator_version "
            "WHERE originator_id = ? AND originator_version < 0",
            (key,),
        )
        db.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "VALUES (?, 3, ?, ?)",
            (key, topic, state),
        )
    db.close()
    forged = store.position(ref, 3)
    assert [1, 2, 3, 4, 5, 6, 7] == [version for _, version, _, _ in store.rows(ref)]
    report = store.verify()
    assert not report.ok
    assert ("inserted", ref, forged, 3) in problems(report)


def test_event_deleted_mid_stream_and_renumbered_is_missing(store: Store) -> None:
    """Deleting an event and renumbering the later ones to close the gap is reported
    `missing` at the next event — as for a plain deletion.

    Bug: reported as `altered` on every renumbered event instead."""
    ref, key = "INC0001", ticket_id("INC0001").hex
    next_position = store.position(ref, 4)
    with store.connect() as db:
        db.execute(
            "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 3",
            (key,),
        )
        db.execute(
            "UPDATE stored_events SET originator_version = originator_version - 1 "
            "WHERE originator_id = ? AND originator_version > 3",
            (key,),
        )
    db.close()
    report = store.verify()
    assert not report.ok
    assert ("missing", ref, next_position, 3) in problems(report)


# ---------------------------------------------------------------------- the CLI


def test_cli_verify_exits_1_naming_ticket_and_position(store: Store) -> None:
    """`deskledger --store URL verify` exits 1 on tampering and prints ticket and position;
    it exits 0 on the untampered file."""
    command = [*CLI, "--store", store.url, "verify"]
    env = {**os.environ, "DESKLEDGER_STORE": ""}
    clean = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert 0 == clean.returncode, clean.stderr
    position = store.position("INC0001", 2)
    state = store.state("INC0001", 2)
    state["assignee"] = "mallory"
    store.execute(
        "UPDATE stored_events SET state = ? WHERE rowid = ?", json.dumps(state).encode(), position
    )
    tampered = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert 1 == tampered.returncode, tampered.stdout + tampered.stderr
    output = tampered.stdout + tampered.stderr
    assert "INC0001" in output
    assert str(position) in output
    assert "altered" in output
