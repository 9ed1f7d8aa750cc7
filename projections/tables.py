"""The two views' stores: the tickets view (tickets, versions, SLA timers, damage) and the
audit index. Backend-neutral; :mod:`projections.sqlite` and :mod:`projections.postgres` mix in
how to open a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from eventsourcing.persistence import Tracking

from projections import sql
from projections.reading import CHUNK, AuditReads, Executor, TicketReads
from projections.rows import TicketRow
from projections.store import ViewStore


@dataclass(frozen=True)
class Damage:
    """An event the projection could not read: reads of its ticket say so."""

    position: int
    ref: str
    stream_id: str
    reason: str


class AuditEntry(NamedTuple):
    """One event in the audit index (a tuple in :data:`projections.sql.INSERT_AUDIT`'s
    column order, bound as it is)."""

    position: int
    ref: str
    version: int
    type: str
    occurred_at: int
    actor: str


class TicketsStore(ViewStore, TicketReads):
    """The tickets view, written from the tickets projection (reads:
    :class:`~projections.reading.TicketReads`)."""

    tables = sql.TICKET_TABLES
    names = sql.TICKET_NAMES
    drops = sql.TICKET_DROPS

    def write(
        self, rows: Sequence[TicketRow], damaged: Sequence[Damage], tracking: Tracking
    ) -> int:
        """Record ``rows`` (in position order) and ``tracking`` in one transaction; rows the
        view already holds are skipped. Returns how many rows were new."""
        with self.batch(tracking) as (cursor, current):
            fresh = [r for r in rows if current is None or r.position > current]
            self._write_tickets(cursor, fresh)
            self._write_timers(cursor, fresh)
            self.executemany(
                cursor,
                sql.INSERT_DAMAGED,
                [
                    (d.position, d.ref, d.stream_id, d.reason)
                    for d in damaged
                    if current is None or d.position > current
                ],
            )
            return len(fresh)

    def _write_tickets(self, cursor: Executor, rows: Sequence[TicketRow]) -> None:
        closes: list[tuple[Any, ...]] = []
        versions: list[tuple[Any, ...]] = []
        latest: list[tuple[Any, ...]] = []
        for ref, items in _by_ref(rows).items():
            closes.append((items[0].valid_from, ref))
            last = len(items) - 1
            for index, row in enumerate(items):
                following = items[index + 1].valid_from if index < last else None
                # next_milestone_at says when a clock tick may record something: a fact of
                # the current row only (computed for a batch's last row of each ticket).
                versions.append((*row.values, None, following))
            latest.append((*items[last].values, items[last].next_milestone_at))
        self.executemany(cursor, sql.CLOSE_VERSIONS, closes)
        self.executemany(cursor, sql.INSERT_VERSION, versions)
        self.executemany(cursor, sql.UPSERT_TICKET, latest)

    def _write_timers(self, cursor: Executor, rows: Sequence[TicketRow]) -> None:
        # A timer gets a new version only when its stage, due time or breach changed since
        # the version before (stored, or earlier in this batch): the view is the same
        # however the log was cut into batches.
        stored = self._stored_timers(cursor, sorted({row.ref for row in rows}))
        changed: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        latest: dict[tuple[str, int], tuple[Any, ...]] = {}
        for row in rows:
            for timer in row.timers:
                key = (timer[0], timer[1])
                history = changed.setdefault(key, [])
                before = _timer_state(history[-1]) if history else stored.get(key)
                if before is None or before != _timer_state(timer):
                    history.append(timer)
                latest[key] = timer
        closes: list[tuple[Any, ...]] = []
        versions: list[tuple[Any, ...]] = []
        for (ref, seq), history in changed.items():
            if not history:
                continue
            closes.append((history[0][_VALID_FROM], ref, seq))
            last = len(history) - 1
            for index, timer in enumerate(history):
                following = history[index + 1][_VALID_FROM] if index < last else None
                versions.append((*timer, following))
        self.executemany(cursor, sql.CLOSE_TIMER_VERSIONS, closes)
        self.executemany(cursor, sql.INSERT_TIMER_VERSION, versions)
        self.executemany(cursor, sql.UPSERT_TIMER, list(latest.values()))

    def _stored_timers(
        self, cursor: Executor, refs: Sequence[str]
    ) -> dict[tuple[str, int], tuple[Any, ...]]:
        """What the view holds of the current timers of ``refs``: their state (the columns
        a new version is written for), by ref and sequence number."""
        stored: dict[tuple[str, int], tuple[Any, ...]] = {}
        columns = ", ".join(_TIMER_STATE)
        for start in range(0, len(refs), CHUNK):
            names = {f"r{i}": ref for i, ref in enumerate(refs[start : start + CHUNK])}
            cursor.execute(
                self.sql(
                    f"SELECT ref, seq, {columns} FROM {{sla_timers}} WHERE ref IN "
                    f"({', '.join(':' + n for n in names)})"
                ),
                names,
            )
            for found in cursor.fetchall():
                stored[(found["ref"], found["seq"])] = tuple(found[c] for c in _TIMER_STATE)
        return stored


class AuditStore(ViewStore, AuditReads):
    """The audit index, written from the audit projection (reads:
    :class:`~projections.reading.AuditReads`)."""

    tables = sql.AUDIT_TABLES
    names = sql.AUDIT_NAMES
    drops = sql.AUDIT_DROPS

    def write(self, entries: Sequence[AuditEntry], tracking: Tracking) -> int:
        with self.batch(tracking) as (cursor, current):
            fresh = [e for e in entries if current is None or e.position > current]
            self.executemany(cursor, sql.INSERT_AUDIT, fresh)
            return len(fresh)


def _by_ref(rows: Sequence[TicketRow]) -> dict[str, list[TicketRow]]:
    groups: dict[str, list[TicketRow]] = {}
    for row in rows:
        groups.setdefault(row.ref, []).append(row)
    return groups


#: The columns of a timer whose change gives it a new version, and where a timer row
#: (:data:`projections.sql.TIMER_ROW` order) holds them.
_TIMER_STATE = ("stage", "running", "due_at", "breached_at", "policy_version", "name")
_timer_state = itemgetter(*(sql.TIMER_ROW.index(column) for column in _TIMER_STATE))
_VALID_FROM = sql.TIMER_ROW.index("valid_from")
