"""Snapshots (eventsourcing's) only speed up loading: a ticket loaded from a snapshot plus
later events equals the ticket replayed from all its events, on every durable store; and a
snapshot is a cache, never evidence: an edited one is never read and verify reports it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum, IntEnum, StrEnum
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine import snapshots
from engine.application import Desk
from engine.canonical import canonical_json
from engine.clock import SimulatedClock
from engine.snapshots import SNAPSHOT_INTERVAL, TicketSnapshot, snapshot_state, state_digest
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


# ---------------------------------------------------------------------- the state's digest


class _Kind(StrEnum):
    OPEN = "open"


class _Level(IntEnum):
    HIGH = 1


class _Mixed(str, Enum):  # noqa: UP042 - str() of a member is "_Mixed.TEXT", not its value
    TEXT = "text"


@dataclass(frozen=True)
class _Leaf:
    name: str
    at: datetime
    kind: _Kind


_TEXT = st.text(st.characters(max_codepoint=0x7F), max_size=6)
#: Values the one-walk path takes (ASCII keys, safe integers, no floats).
_USUAL_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1),
    st.text(st.characters(blacklist_categories=["Cs"])),
    st.sampled_from([_Kind.OPEN, _Level.HIGH, _Mixed.TEXT]),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.uuids(),
    st.builds(_Leaf, _TEXT, st.datetimes(timezones=st.just(UTC)), st.just(_Kind.OPEN)),
)
#: And the values it leaves to the definition (each alone in an otherwise usual state).
_UNUSUAL_VALUES = st.one_of(
    st.floats(allow_nan=False),
    st.integers(min_value=2**53).map(lambda n: n * -1 if n % 2 else n),
    st.text(st.characters(whitelist_categories=["Cs"]), min_size=1, max_size=2),
    st.dictionaries(
        st.text(st.characters(min_codepoint=0x80), min_size=1), _USUAL_LEAVES, min_size=1
    ),
    st.frozensets(st.integers(), min_size=2),
)


def _values(leaves: st.SearchStrategy[Any], keys: st.SearchStrategy[str]) -> Any:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(keys, inner, max_size=4),
        ),
        max_leaves=12,
    )


def _reference_digest(state: dict[str, Any]) -> str:
    """The digest as its definition reads: SHA-256 of the canonical JSON of ``_plain``."""
    return hashlib.sha256(canonical_json(snapshots._plain(dict(state)))).hexdigest()


@given(st.dictionaries(_TEXT, _values(_USUAL_LEAVES, _TEXT), max_size=5))
@settings(max_examples=300, deadline=None)
def test_the_one_walk_digest_is_the_one_its_definition_gives(state: dict[str, Any]) -> None:
    """For the usual shapes (exact JSON types, enums, datetimes, UUIDs, dataclasses),
    state_digest takes its one-walk path and gives the bytes of
    ``canonical_json(_plain(state))``."""
    assert snapshots._usual(state) is not snapshots._UNUSUAL
    assert state_digest(state) == _reference_digest(state)


@given(
    st.dictionaries(_TEXT, _values(_USUAL_LEAVES, _TEXT), max_size=4),
    st.text(max_size=3),
    st.lists(_UNUSUAL_VALUES, min_size=1, max_size=1) | st.tuples(_UNUSUAL_VALUES),
)
@example({}, "k", [{"\U00010000": 1, "\uffff": 2}])  # code points and UTF-16 order them apart
@settings(max_examples=300, deadline=None)
def test_the_digest_of_any_state_is_the_one_its_definition_gives(
    usual: dict[str, Any], key: str, unusual: Any
) -> None:
    """Values the one walk does not take (floats, big integers, lone surrogates, non-ASCII
    keys, other types) are left to the definition, errors included."""
    state = {**usual, key: unusual}
    try:
        expected: str | type[Exception] = _reference_digest(state)
    except (ValueError, TypeError) as error:
        expected = type(error)
    try:
        found: str | type[Exception] = state_digest(state)
    except (ValueError, TypeError) as error:
        found = type(error)
    assert found == expected


def test_a_long_tickets_state_is_digested_in_one_walk(clock: SimulatedClock) -> None:
    """The state of a real ticket (enums, timers, phases, command ids) takes the one-walk path:
    a snapshot read checks this digest, and its cost grows with the ticket's history."""
    desk = Desk(clock=clock)
    desk.load_policy(
        {"slas": [{"name": "R", "kind": "resolution", "target": "4h", "warn_at": [50]}]},
        actor="admin",
    )
    fields = {"ref": "INC1", "title": "t", "caller": "c", "impact": 1, "urgency": 1}
    desk.execute("open", fields, actor="a", command_id="c-open")
    desk.execute("hold", {"ref": "INC1", "reason": "awaiting_caller", "comment": "?"}, actor="a")
    desk.execute("resume", {"ref": "INC1"}, actor="a", command_id="c-resume")
    state = snapshot_state(desk.repository.get(desk.get_ticket("INC1").id))
    assert snapshots._usual(state) is not snapshots._UNUSUAL
    assert state_digest(state) == _reference_digest(state)
