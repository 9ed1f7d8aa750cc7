"""View stores: eventsourcing ``TrackingRecorder`` subclasses that own a view's tables.

A view store writes a batch of rows **and** its tracking position in one transaction. The
transaction first locks and reads the position; rows at or before it are skipped, so two
followers racing on one store never apply an event twice (eventsourcing's single-row
tracking, taken per batch), and a follower killed mid-batch leaves nothing behind. The SQL
is shared by the backends (:mod:`projections.sql`); each backend
(:mod:`projections.sqlite`, :mod:`projections.postgres`) only says how to open a transaction.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    ProgrammingError,
    Tracking,
    TrackingRecorder,
)

from projections.reading import Executor, ViewReads
from projections.sql import Dialect, Rows


class ViewStore(ViewReads, TrackingRecorder):
    """Tables of one view plus its tracking position, on one backend (reads:
    :class:`~projections.reading.ViewReads`)."""

    tables: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    drops: tuple[str, ...] = ()

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        #: The position whose batch builds the secondary indexes (see :meth:`defer_indexes`).
        self._indexes_at: int | None = None

    # ------------------------------------------------------------------ backend

    @abstractmethod
    def lock_suffix(self) -> str:
        """What makes a SELECT lock the rows it reads ("" where writers are serialised)."""

    # ------------------------------------------------------------------ statements

    def run(self, cursor: Executor, statement: str, params: Any = None) -> None:
        cursor.execute(self.sql(statement), {} if params is None else params)

    # ------------------------------------------------------------------ lifecycle

    def create(self, *, indexes: bool = True) -> None:
        """Create the view's tables and tracking table if they do not exist; without the
        secondary ``indexes`` (the reads' only: writing needs none of them) if told so."""
        with self.transaction(write=True) as cursor:
            for statement in self.definitions(indexes=indexes):
                self.run(cursor, statement)

    def definitions(self, *, indexes: bool = True) -> tuple[str, ...]:
        """The statements creating the view's tables, their secondary ``indexes`` (or not)
        and its tracking table."""
        tables = self.tables if indexes else tuple(s for s in self.tables if not _is_index(s))
        return (*tables, self._tracking_ddl())

    def secondary_indexes(self) -> tuple[tuple[str, str], ...]:
        """The view's secondary indexes: (name, the statement creating it) each."""
        return tuple(
            (_index_name(statement), statement) for statement in self.tables if _is_index(statement)
        )

    def missing_indexes(self) -> bool:
        """Whether a secondary index of the view is missing from the store: a rebuild that
        deferred them (:meth:`defer_indexes`) stopped before the end."""
        query, params = self.dialect.index_names()
        with self.transaction(write=False) as cursor:
            cursor.execute(query, params)
            present = {dict(row)["name"] for row in cursor.fetchall()}
        return any(name not in present for name, _ in self.secondary_indexes())

    def defer_indexes(self, until: int) -> None:
        """Drop the view's secondary indexes now, and build them in the transaction that
        records position ``until`` or later (:meth:`batch`), so that a view filled from
        nothing is indexed once over its rows rather than row by row. A view caught up
        through ``until`` therefore always has them; :meth:`build_indexes` builds them if no
        batch reached it, and :meth:`missing_indexes` tells when a process stopped first."""
        with self.transaction(write=True) as cursor:
            for name, _ in self.secondary_indexes():
                cursor.execute(f"DROP INDEX IF EXISTS {self.dialect.index(name)}")
        self._indexes_at = until

    def build_indexes(self) -> None:
        """Build the secondary indexes :meth:`defer_indexes` dropped, if no batch did yet."""
        if self._indexes_at is not None:
            with self.transaction(write=True) as cursor:
                self.create_indexes(cursor)
            self._indexes_at = None

    def create_indexes(self, cursor: Executor) -> None:
        """Create the view's secondary indexes that are missing (in the caller's
        transaction)."""
        for _, statement in self.secondary_indexes():
            self.run(cursor, statement)

    def outdated(self) -> bool:
        """Whether the view's tables lack a column this code writes: built by an older
        version, the view must be rebuilt from the log (views are derived, never evidence)."""
        for table, wanted in self.columns.items():
            try:
                self.rows(f"SELECT {', '.join(wanted)} FROM {{{table}}} WHERE 1 = 0")
            except (OperationalError, ProgrammingError):  # no such column
                return True
        return False

    def drop(self) -> None:
        """Drop the view's tables and forget its position (rebuild starts from zero)."""
        with self.transaction(write=True) as cursor:
            for statement in (*self.drops, f"DROP TABLE IF EXISTS {{{self.view}_tracking}}"):
                self.run(cursor, statement)

    def analyse(self) -> None:
        """Bring the database's statistics of the view's tables up to date, after they were
        filled from scratch. Nothing to do by default: SQLite plans the views' reads from
        their indexes alone (no ``sqlite_stat1`` is ever written)."""

    def _tracking_ddl(self) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {{{self.view}_tracking}} "
            "(application_name TEXT PRIMARY KEY, notification_id BIGINT NOT NULL)"
        )

    # ------------------------------------------------------------------ tracking

    def insert_tracking(self, tracking: Tracking) -> None:
        with self.batch(tracking) as (cursor, current):
            if current is not None and tracking.notification_id <= current:
                raise IntegrityError(
                    f"{self.view}: position {tracking.notification_id} is already tracked "
                    f"(at {current})"
                )
            del cursor

    @contextmanager
    def batch(self, tracking: Tracking) -> Iterator[tuple[Executor, int | None]]:
        """One transaction that ends by recording ``tracking``: yields the cursor and the
        position already tracked (locked until commit), so the caller skips what is done."""
        with self.transaction(write=True) as cursor:
            cursor.execute(
                self.sql(
                    f"SELECT notification_id FROM {{{self.view}_tracking}} "
                    f"WHERE application_name = :app{self.lock_suffix()}"
                ),
                {"app": tracking.application_name},
            )
            found = cursor.fetchone()
            current = None if found is None else int(dict(found)["notification_id"])
            yield cursor, current
            if current is None or tracking.notification_id > current:
                self.record_tracking(cursor, tracking)
            indexed = self._indexes_at is not None and tracking.notification_id >= self._indexes_at
            if indexed:
                self.create_indexes(cursor)
        if indexed:  # committed
            self._indexes_at = None

    def record_tracking(self, cursor: Executor, tracking: Tracking) -> None:
        """Set the view's tracking position to ``tracking`` (in the caller's transaction)."""
        self.run(
            cursor,
            f"INSERT INTO {{{self.view}_tracking}} (application_name, notification_id) "
            "VALUES (:app, :position) ON CONFLICT (application_name) "
            "DO UPDATE SET notification_id = excluded.notification_id",
            {"app": tracking.application_name, "position": tracking.notification_id},
        )

    def executemany(self, cursor: Executor, statement: Rows, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``statement`` for each of ``rows`` (tuples in its columns' order)."""
        if rows:
            cursor.executemany(self.dialect.positional(statement.statement), rows)


def _is_index(statement: str) -> bool:
    return statement.startswith("CREATE INDEX")


def _index_name(statement: str) -> str:
    """The index a ``CREATE INDEX IF NOT EXISTS name ON ...`` statement creates."""
    return statement.removeprefix("CREATE INDEX IF NOT EXISTS ").split(" ", 1)[0]
