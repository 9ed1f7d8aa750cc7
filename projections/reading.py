"""Reading the views' tables: the statements every read of a view runs, written once.

The view stores that maintain the tables (:mod:`projections.tables`, eventsourcing tracking
recorders) read through these classes, and so does :class:`projections.reader.ViewReader`,
which reads a SQLite store's views in place with nothing but :mod:`sqlite3`. Nothing here
imports eventsourcing or the engine: a read of views that are up to date loads neither.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from projections import sql
from projections.sql import Dialect

if TYPE_CHECKING:
    from engine.calendar import BusinessCalendar

#: Runs one statement in a read transaction and returns its rows (:meth:`TicketReads.reading`).
Query = Callable[[str, Mapping[str, Any]], list[Any]]
#: Refs per ``IN (...)`` list (SQLite allows a few hundred bound values at least).
CHUNK = 400


class Executor(Protocol):
    """The part of a DB-API cursor the view stores use."""

    def execute(self, statement: str, params: Any = ..., /) -> Any: ...

    def executemany(self, statement: str, params: Any, /) -> Any: ...

    def fetchall(self) -> Any: ...

    def fetchone(self) -> Any: ...


class ViewReads(ABC):
    """Reads of one view's tables and of its tracking position, on one backend."""

    #: The view's name: its tables' family and its tracking table (``dl_<name>_tracking``).
    view: str = ""
    #: Tables and the columns this code writes to them and reads from them: a view without
    #: one of them was built by an older version and must be rebuilt (see
    #: :meth:`projections.store.ViewStore.outdated`).
    columns: Mapping[str, Sequence[str]] = {}
    dialect: Dialect

    @abstractmethod
    def transaction(self, *, write: bool) -> Any:
        """A context manager yielding an :class:`Executor` in one transaction."""

    def sql(self, statement: str) -> str:
        return self.dialect.sql(statement)

    def rows(self, statement: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.transaction(write=False) as cursor:
            cursor.execute(self.sql(statement), dict(params or {}))
            return [dict(row) for row in cursor.fetchall()]

    def max_tracking_id(self, application_name: str) -> int | None:
        rows = self.rows(
            f"SELECT notification_id FROM {{{self.view}_tracking}} WHERE application_name = :app",
            {"app": application_name},
        )
        return int(rows[0]["notification_id"]) if rows else None


class TicketReads(ViewReads):
    """Tickets now and as of any instant, their SLA timers, and events that could not be read."""

    view = "tickets"
    columns: Mapping[str, Sequence[str]] = {
        "tickets": sql.TICKET_ROW,
        "sla_timers": sql.TIMER_ROW,
    }

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
        for start in range(0, len(refs), CHUNK):
            names = {f"r{i}": ref for i, ref in enumerate(refs[start : start + CHUNK])}
            chosen = f" AND ref IN ({', '.join(':' + n for n in names)})"
            found.extend(self.rows(statement + chosen, {**bound, **names}))
        return sorted(found, key=lambda row: (row["ref"], row["seq"]))

    @contextmanager
    def reading(
        self,
        *,
        at: int | None = None,
        tickets: Sequence[str] = sql.TICKET_ROW,
        timers: Sequence[str] = sql.TIMER_ROW,
    ) -> Iterator[Query]:
        """One read transaction over the current tickets and timers or (``at``
        microseconds) over the rows valid then: yields ``query(statement, params)``, which
        runs a statement reading ``{tickets}`` and ``{sla_timers}`` (given the other source
        here) and returns its rows. Every statement sees the same snapshot, so one may be
        built from what an earlier one returned. Rows are the driver's own, each indexable
        by column name (not copied into dicts: a statement may return one narrow row per
        ticket). The rows valid at ``at`` hold the columns ``tickets`` and ``timers`` only
        (every one by default): the statements may read no other."""
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
                for create in sql.as_of_tables(self.dialect.name, tickets, timers):
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


class AuditReads(ViewReads):
    """Every event's position by ticket: ``audit REF`` and timelines read one ticket."""

    view = "audit"

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


class ReadSide(Protocol):
    """What the query layer reads: the two views, caught up on demand, the clock that says
    "now", the pinned calendars, and one ticket's events."""

    @property
    def tickets(self) -> TicketReads: ...

    @property
    def audit(self) -> AuditReads: ...

    def catch_up(self) -> int:
        """Bring the views up to date (as far as this read side can); how many events."""

    def now(self) -> datetime:
        """The instant a query without ``as_of`` answers for."""

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        """The calendar ``name`` of policy ``version``."""

    def history(self, ref: str) -> Iterator[Any]:
        """Every event of ticket ``ref`` in stream order, decoded (UnreadableEventError if
        one cannot be)."""
