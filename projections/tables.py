"""The two views' stores: the tickets view (tickets, versions, SLA timers, damage) and the
audit index. Backend-neutral; :mod:`projections.sqlite` and :mod:`projections.postgres` mix in
how to open a transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Tracking

from projections import sql
from projections.rows import TIMER_COLUMNS, TicketRow
from projections.store import Executor, ViewStore

#: Runs one statement in a read transaction and returns its rows (:meth:`TicketsStore.reading`).
Query = Callable[[str, Mapping[str, Any]], list[Any]]


@dataclass(frozen=True)
class Damage:
    """An event the projection could not read: reads of its ticket say so."""

    position: int
    ref: str
    stream_id: str
    reason: str


@dataclass(frozen=True)
class AuditEntry:
    """One event in the audit index."""

    position: int
    ref: str
    version: int
    type: str
    occurred_at: int
    actor: str


class TicketsStore(ViewStore):
    """Tickets now and as of any instant, their SLA timers, and events that could not be read."""

    view = "tickets"
    tables = sql.TICKET_TABLES
    drops = sql.TICKET_DROPS
    columns: Mapping[str, Sequence[str]] = {
        "tickets": sql.TICKET_ROW,
        "sla_timers": sql.TIMER_ROW,
    }

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
                    {
                        "position": d.position,
                        "ref": d.ref,
                        "stream_id": d.stream_id,
                        "reason": d.reason,
                    }
                    for d in damaged
                    if current is None or d.position > current
                ],
            )
            return len(fresh)

    def _write_tickets(self, cursor: Executor, rows: Sequence[TicketRow]) -> None:
        groups = _by_ref(rows)
        closes, versions, latest = [], [], []
        for ref, items in groups.items():
            closes.append({"ref": ref, "valid_from": items[0].valid_from})
            for index, row in enumerate(items):
                following = items[index + 1].valid_from if index + 1 < len(items) else None
                # next_milestone_at says when a clock tick may record something: a fact of
                # the current row only (computed for a batch's last row of each ticket).
                versions.append(
                    {**_ticket_values(row), "valid_to": following, "next_milestone_at": None}
                )
            latest.append(_ticket_values(items[-1]))
        self.executemany(cursor, sql.CLOSE_VERSIONS, closes)
        self.executemany(cursor, sql.INSERT_VERSION, versions)
        self.executemany(cursor, sql.UPSERT_TICKET, latest)

    def _write_timers(self, cursor: Executor, rows: Sequence[TicketRow]) -> None:
        # A timer gets a new version only when its stage, due time or breach changed since
        # the version before (stored, or earlier in this batch): the view is the same
        # however the log was cut into batches.
        stored = self._stored_timers(cursor, sorted({row.ref for row in rows}))
        changed: dict[tuple[str, int], list[dict[str, Any]]] = {}
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        for row in rows:
            for timer in row.timers:
                key = (row.ref, timer["seq"])
                values = {
                    "ref": row.ref,
                    "seq": timer["seq"],
                    "position": row.position,
                    "valid_from": row.valid_from,
                    **{column: timer[column] for column in TIMER_COLUMNS},
                }
                history = changed.setdefault(key, [])
                before = history[-1] if history else stored.get(key)
                if before is None or _timer_moved(before, values):
                    history.append(values)
                latest[key] = values
        closes, versions = [], []
        for (ref, seq), history in changed.items():
            if not history:
                continue
            closes.append({"ref": ref, "seq": seq, "valid_from": history[0]["valid_from"]})
            for index, values in enumerate(history):
                following = history[index + 1]["valid_from"] if index + 1 < len(history) else None
                versions.append({**values, "valid_to": following})
        self.executemany(cursor, sql.CLOSE_TIMER_VERSIONS, closes)
        self.executemany(cursor, sql.INSERT_TIMER_VERSION, versions)
        self.executemany(cursor, sql.UPSERT_TIMER, list(latest.values()))

    def _stored_timers(
        self, cursor: Executor, refs: Sequence[str]
    ) -> dict[tuple[str, int], dict[str, Any]]:
        stored: dict[tuple[str, int], dict[str, Any]] = {}
        for start in range(0, len(refs), _CHUNK):
            names = {f"r{i}": ref for i, ref in enumerate(refs[start : start + _CHUNK])}
            cursor.execute(
                self.sql(
                    "SELECT * FROM {sla_timers} WHERE ref IN "
                    f"({', '.join(':' + n for n in names)})"
                ),
                names,
            )
            for found in cursor.fetchall():
                row = dict(found)
                stored[(row["ref"], row["seq"])] = row
        return stored

    # ------------------------------------------------------------------ reads

    def select(
        self,
        where: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        *,
        at: int | None = None,
        order: str = "opened_at, ref",
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Ticket rows (now, or as of ``at`` microseconds) matching every ``where`` clause."""
        bound = dict(params or {})
        source = "{tickets}"
        if at is not None:
            source = sql.TICKETS_AS_OF
            bound["at"] = at
        statement = f"SELECT * FROM {source} t"
        if where:
            statement += " WHERE " + " AND ".join(f"({clause})" for clause in where)
        statement += f" ORDER BY {order}"
        if limit is not None:
            statement += " LIMIT :limit"
            bound["limit"] = limit
        return self.rows(statement, bound)

    def timers(self, refs: Sequence[str] | None, *, at: int | None = None) -> list[dict[str, Any]]:
        """SLA timer rows (of ``refs``, or of every ticket), now or as of ``at``."""
        bound: dict[str, Any] = {}
        statement = "SELECT * FROM {sla_timers} s WHERE 1 = 1"
        if at is not None:
            statement = (
                "SELECT * FROM {sla_timer_versions} s WHERE valid_from <= :at "
                "AND (valid_to IS NULL OR valid_to > :at)"
            )
            bound["at"] = at
        if refs is None:
            return self.rows(statement + " ORDER BY ref, seq", bound)
        found: list[dict[str, Any]] = []
        for start in range(0, len(refs), _CHUNK):
            names = {f"r{i}": ref for i, ref in enumerate(refs[start : start + _CHUNK])}
            chosen = f" AND ref IN ({', '.join(':' + n for n in names)})"
            found.extend(self.rows(statement + chosen, {**bound, **names}))
        return sorted(found, key=lambda row: (row["ref"], row["seq"]))

    @contextmanager
    def reading(self, *, at: int | None = None) -> Iterator[Query]:
        """One read transaction over the current tickets and timers or (``at``
        microseconds) over the rows valid then: yields ``query(statement, params)``, which
        runs a statement reading ``{tickets}`` and ``{sla_timers}`` (given the other source
        here) and returns its rows. Every statement sees the same snapshot, so one may be
        built from what an earlier one returned. Rows are the driver's own, each indexable
        by column name (not copied into dicts: a statement may return one narrow row per
        ticket)."""
        with self.transaction(write=False) as cursor:
            if self.dialect.name == "postgres":  # one snapshot for every statement
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                # Statements of a few index ranges each that the planner costs high (a
                # correlated count per day or per SLA name and stage): compiling them took
                # ten times longer than running them.
                cursor.execute("SET LOCAL jit = off")
            if at is not None:
                # The rows valid at ``at`` are picked out of every version once, into
                # temporary tables the statements then read (picking them out again in each
                # statement scanned the versions a dozen times).
                for create in sql.as_of_tables(self.dialect.name):
                    cursor.execute(self.sql(create), {"at": at})

            def query(statement: str, params: Mapping[str, Any]) -> list[Any]:
                text = statement if at is None else sql.from_as_of_tables(statement)
                cursor.execute(self.sql(text), dict(params))
                return list(cursor.fetchall())

            yield query
            if at is not None:
                for drop in sql.AS_OF_DROPS:
                    cursor.execute(drop)

    def damage(self, ref: str, stream_id: str) -> list[dict[str, Any]]:
        """The events of ``ref`` (its stream ``stream_id``) the projection could not read."""
        return self.rows(
            "SELECT position, reason FROM {damaged} WHERE ref = :ref OR stream_id = :stream "
            "ORDER BY position",
            {"ref": ref, "stream": stream_id},
        )


class AuditStore(ViewStore):
    """Every event's position by ticket: ``audit REF`` and timelines read one ticket."""

    view = "audit"
    tables = sql.AUDIT_TABLES
    drops = sql.AUDIT_DROPS

    def write(self, entries: Sequence[AuditEntry], tracking: Tracking) -> int:
        with self.batch(tracking) as (cursor, current):
            fresh = [e for e in entries if current is None or e.position > current]
            self.executemany(cursor, sql.INSERT_AUDIT, [e.__dict__ for e in fresh])
            return len(fresh)

    def positions(self, refs: Sequence[str]) -> list[dict[str, Any]]:
        """Position, ticket, version, type, instant and actor of every event of ``refs``."""
        names = {f"r{i}": ref for i, ref in enumerate(refs)}
        if not names:
            return []
        return self.rows(
            "SELECT * FROM {audit_index} WHERE ref IN "
            f"({', '.join(':' + n for n in names)}) ORDER BY position",
            names,
        )


#: Refs per ``IN (...)`` list (SQLite allows a few hundred bound values at least).
_CHUNK = 400


def _by_ref(rows: Sequence[TicketRow]) -> dict[str, list[TicketRow]]:
    groups: dict[str, list[TicketRow]] = {}
    for row in rows:
        groups.setdefault(row.ref, []).append(row)
    return groups


def _ticket_values(row: TicketRow) -> dict[str, Any]:
    return {"ref": row.ref, "position": row.position, "valid_from": row.valid_from, **row.values}


_TIMER_STATE = ("stage", "running", "due_at", "breached_at", "policy_version", "name")


def _timer_moved(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return any(before[key] != after[key] for key in _TIMER_STATE)
