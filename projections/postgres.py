"""The views on PostgreSQL, in the store's schema. A writing transaction first takes its
view's advisory lock (the tracking row alone cannot be locked before the first batch has
written it), so followers and readers catching up on one store take turns, and
commits asynchronously: a view can always be re-derived from the log, and its rows and
position are committed together, so a crash loses at most the last batches, never half of
one. The versions of tickets and timers, plain inserts, are loaded with ``COPY``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from eventsourcing.postgres import PostgresDatastore

from projections.reading import Executor
from projections.sql import Dialect, Rows
from projections.tables import AuditStore, TicketsStore


class PostgresViews:
    """How a view store opens a transaction on PostgreSQL, and writes rows in bulk."""

    dialect: Dialect  # the view store's

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        super().__init__(Dialect("postgres", datastore.schema or "public"))  # type: ignore[call-arg]

    def lock_suffix(self) -> str:
        return " FOR UPDATE"

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=write) as cursor:
            if write:
                cursor.execute("SET LOCAL synchronous_commit = off")
                view = f"{self._lock_name()}:{self.view}"  # type: ignore[attr-defined]
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (view,))
            yield cursor

    def create(self, *, indexes: bool = True) -> None:
        """Create the tables once: concurrent creators wait on an advisory lock."""
        with self.transaction(write=True) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._lock_name(),))
            for statement in self.definitions(indexes=indexes):  # type: ignore[attr-defined]
                cursor.execute(self.sql(statement))  # type: ignore[attr-defined]

    def analyse(self) -> None:
        """``ANALYZE`` the view's tables. A rebuild fills them from empty in one go, and until
        autovacuum gets round to it the planner still holds the statistics of empty tables;
        the report's statements then pick plans made for a handful of rows."""
        with self.datastore.transaction(commit=True) as cursor:
            for name in self.names:  # type: ignore[attr-defined]
                cursor.execute(self.sql(f"ANALYZE {{{name}}}"))  # type: ignore[attr-defined]

    def _lock_name(self) -> str:
        return f"deskledger-views:{self.datastore.schema}"

    def executemany(self, cursor: Executor, statement: Rows, rows: Sequence[Sequence[Any]]) -> None:
        """Plain inserts (the versions of tickets and timers) as one ``COPY``: the server
        loads the rows in one stream rather than running the statement once per row, a
        third of a rebuild's time. Other statements run once per row, pipelined by
        psycopg."""
        if not rows:
            return
        if not statement.copy:
            cursor.executemany(self.dialect.positional(statement.statement), rows)
            return
        with cast(Any, cursor).copy(self.dialect.positional(statement.copy)) as copy:
            for row in rows:
                copy.write_row(row)


class PostgresTicketsView(PostgresViews, TicketsStore):
    """The tickets view on PostgreSQL."""


class PostgresAuditView(PostgresViews, AuditStore):
    """The audit index on PostgreSQL."""
