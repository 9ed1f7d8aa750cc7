"""A replica's own copy of the stream: one row per stream sequence, in its SQLite file.

Every message a replica receives is stored here first, keyed by its stream sequence
(``INSERT OR IGNORE``: a redelivery stores nothing new), with the envelope's position, stream,
ticket, version, type and hash beside its JSON body. A sequence that holds no event for the
replica — a checkpoint, a message that is not an envelope, a range the stream no longer has —
gets one row with a note and the status ``skipped``, ``lost`` or ``unreadable`` (``through``
is the last sequence such a row stands for).

Rows are then decided in sequence order (:meth:`ReplicaLog.decide`): ``applied`` (fed to the
projections), ``duplicate`` (a position applied before, same hash), ``conflict`` (a position
applied before with another hash) or ``skipped``; ``pending`` until then. The mark — the
last sequence (and log position) whose effects the views hold — moves only after the views
committed them. :class:`ReplicaWorld` answers the tickets projection's questions from the
``applied`` rows: a ticket as of a version (its envelopes replayed with the aggregate's own
mutators) and the calendars of the policy versions received.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from typing import Any, Self

from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from engine.calendar import BusinessCalendar
from engine.chain import LedgerEvent
from engine.envelope import Envelope, event_classes, event_from_envelope
from engine.errors import PolicyError, UnreadableEventError
from engine.ids import policy_registry_id, ticket_id
from engine.policy import Policy, default_policy, parse_policy
from engine.policy_registry import PolicyVersionLoaded
from engine.ticket import Ticket
from projections.sqlite import transaction as sqlite_transaction

#: Why an envelope does not turn back into its event (unknown type, bad value).
DECODING_ERRORS: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dl_replica_messages (
        sequence INTEGER PRIMARY KEY, through INTEGER NOT NULL, status TEXT NOT NULL,
        position INTEGER, stream_id TEXT, ticket TEXT, version INTEGER, type TEXT,
        hash TEXT, body TEXT, note TEXT)""",
    """CREATE INDEX IF NOT EXISTS dl_replica_streams ON dl_replica_messages
        (stream_id, version) WHERE status = 'applied'""",
    """CREATE INDEX IF NOT EXISTS dl_replica_positions ON dl_replica_messages
        (position) WHERE status = 'applied'""",
    """CREATE TABLE IF NOT EXISTS dl_replica_state (
        name TEXT PRIMARY KEY, sequence INTEGER NOT NULL, position INTEGER NOT NULL)""",
)
_MARK = "applied"


@cache
def _classes() -> dict[str, type[Any]]:
    return event_classes(LedgerEvent)


@dataclass(frozen=True)
class Received:
    """One row: an event's envelope at ``sequence``, or sequences skipped with a note."""

    sequence: int
    through: int
    status: str
    envelope: Envelope | None = None
    note: str | None = None

    @classmethod
    def event(cls, sequence: int, envelope: Envelope) -> Self:
        return cls(sequence, sequence, "pending", envelope)

    @classmethod
    def skipped(cls, sequence: int, through: int, status: str, note: str) -> Self:
        """Sequences with no event to apply: ``skipped`` (a checkpoint, a message outside the
        filters), ``lost`` (the stream no longer holds them) or ``unreadable``."""
        return cls(sequence, through, status, None, note)

    def values(self) -> tuple[Any, ...]:
        e = self.envelope
        if e is None:
            return (self.sequence, self.through, self.status, *([None] * 7), self.note)
        body = e.to_json()
        return (self.sequence, self.through, self.status, e.position, e.stream_id, e.ticket,
                e.version, e.type, e.hash, body, self.note)  # fmt: skip


@dataclass(frozen=True)
class Mark:
    """The last stream sequence, and the last log position, the views hold."""

    sequence: int = 0
    position: int = 0


class ReplicaLog:
    """The replica's received messages and its mark, in the replica's SQLite file."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore

    def transaction(self, *, write: bool) -> AbstractContextManager[SQLiteCursor]:
        return sqlite_transaction(self.datastore, write=write)

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self.transaction(write=False) as cursor:
            cursor.execute(statement, params)
            found: list[sqlite3.Row] = cursor.fetchall()
            return found

    def create(self) -> None:
        with self.transaction(write=True) as cursor:
            for statement in _SCHEMA:
                cursor.execute(statement)

    # ------------------------------------------------------------------ writing

    def store(self, rows: Sequence[Received]) -> None:
        """Store ``rows`` in one transaction; a sequence already stored keeps its row."""
        if not rows:
            return
        with self.transaction(write=True) as cursor:
            cursor.executemany(
                "INSERT OR IGNORE INTO dl_replica_messages (sequence, through, status, "
                "position, stream_id, ticket, version, type, hash, body, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row.values() for row in rows],
            )

    def decide(self, decisions: Mapping[int, tuple[str, str | None]]) -> None:
        """Record each sequence's status and note (one transaction)."""
        if not decisions:
            return
        with self.transaction(write=True) as cursor:
            cursor.executemany(
                "UPDATE dl_replica_messages SET status = ?, note = ? WHERE sequence = ?",
                [(status, note, sequence) for sequence, (status, note) in decisions.items()],
            )

    def advance(self, mark: Mark) -> None:
        """Move the mark (after the views committed everything up to it)."""
        with self.transaction(write=True) as cursor:
            cursor.execute(
                "INSERT INTO dl_replica_state (name, sequence, position) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence, "
                "position = excluded.position",
                (_MARK, mark.sequence, mark.position),
            )

    # ------------------------------------------------------------------ reading

    def mark(self) -> Mark:
        rows = self._rows(
            "SELECT sequence, position FROM dl_replica_state WHERE name = ?", (_MARK,)
        )
        return Mark(int(rows[0]["sequence"]), int(rows[0]["position"])) if rows else Mark()

    def after(self, sequence: int, limit: int) -> list[sqlite3.Row]:
        """Up to ``limit`` rows after ``sequence``, in sequence order."""
        return self._rows(
            "SELECT * FROM dl_replica_messages WHERE sequence > ? ORDER BY sequence LIMIT ?",
            (sequence, limit),
        )

    def hash_at(self, position: int) -> str | None:
        """The hash of the event applied at ``position``."""
        rows = self._rows(
            "SELECT hash FROM dl_replica_messages WHERE position = ? AND status = 'applied'",
            (position,),
        )
        return str(rows[0]["hash"]) if rows else None

    def applied(self) -> list[tuple[int, str]]:
        """(position, hash) of every event applied, in position order."""
        rows = self._rows(
            "SELECT position, hash FROM dl_replica_messages WHERE status = 'applied' "
            "ORDER BY position"
        )
        return [(int(row["position"]), str(row["hash"])) for row in rows]

    def applied_count(self, through: int) -> int:
        """How many events were applied up to sequence ``through``."""
        rows = self._rows(
            "SELECT count(*) FROM dl_replica_messages WHERE status = 'applied' AND sequence <= ?",
            (through,),
        )
        return int(rows[0][0])

    def noted(self, statuses: Sequence[str]) -> list[sqlite3.Row]:
        """Rows of these statuses, with their notes, in sequence order."""
        marks = ", ".join("?" for _ in statuses)
        return self._rows(
            f"SELECT * FROM dl_replica_messages WHERE status IN ({marks}) "  # noqa: S608
            "ORDER BY sequence",
            tuple(statuses),
        )

    def envelopes(self, stream_id: str, *, through: int | None = None) -> list[Envelope]:
        """The applied envelopes of one stream in version order (up to version ``through``)."""
        rows = self._rows(
            "SELECT body FROM dl_replica_messages WHERE stream_id = ? AND status = 'applied' "
            "AND version <= ? ORDER BY version",
            (stream_id, 2**62 if through is None else through),
        )
        return [Envelope.from_json(row["body"]) for row in rows]


def decode(envelope: Envelope) -> Any:
    """The domain event of an envelope (one of :data:`DECODING_ERRORS` if it has none)."""
    return event_from_envelope(envelope, _classes())


def history(log: ReplicaLog, ref: str) -> Iterator[Any]:
    """Every applied event of ticket ``ref`` in version order, decoded."""
    for envelope in log.envelopes(str(ticket_id(ref))):
        try:
            event = decode(envelope)
        except DECODING_ERRORS as error:
            cause = f"{type(error).__name__}: {error}"
            raise UnreadableEventError(ref, envelope.position, cause) from None
        yield event


class ReplicaWorld:
    """:class:`projections.world.World` from a replica's applied envelopes."""

    def __init__(self, log: ReplicaLog) -> None:
        self.log = log
        self._policies: dict[int, Policy] = {0: default_policy()}
        self._calendars: dict[tuple[int, str], BusinessCalendar] = {}

    def ticket(self, ref: str, version: int) -> Ticket | None:
        """The ticket as of ``version``, replayed from its envelopes; None when one of its
        versions up to there never arrived."""
        if version < 1:
            return None
        envelopes = self.log.envelopes(str(ticket_id(ref)), through=version)
        if [e.version for e in envelopes] != list(range(1, version + 1)):
            return None
        state: Any = None
        for envelope in envelopes:
            try:
                event = decode(envelope)
            except DECODING_ERRORS as error:
                cause = f"{type(error).__name__}: {error}"
                raise UnreadableEventError(ref, envelope.position, cause) from None
            state = event.mutate(state)
        return state if isinstance(state, Ticket) else None

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        """The calendar ``name`` as policy ``version`` (received over NATS) defined it."""
        key = (version, name)
        found = self._calendars.get(key)
        if found is None:
            mapping = self._policy(version).calendars.get(name)
            if mapping is None:
                raise PolicyError(f"calendars.{name}", f"not defined in policy version {version}")
            found = self._calendars[key] = BusinessCalendar.from_mapping(mapping, name=name)
        return found

    def _policy(self, version: int) -> Policy:
        if version not in self._policies:
            for envelope in self.log.envelopes(str(policy_registry_id())):
                event = decode(envelope)
                if isinstance(event, PolicyVersionLoaded) and event.version not in self._policies:
                    policy = parse_policy(event.document, recorded=True).with_version(event.version)
                    self._policies[event.version] = policy
        if version not in self._policies:
            raise PolicyError("policy", f"version {version} never arrived at this replica")
        return self._policies[version]
