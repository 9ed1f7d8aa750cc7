"""The views on SQLite: in the store's own database file (or an in-memory database for
``memory://`` stores). Writers take the database's write lock at ``BEGIN IMMEDIATE``, so a
batch reads its tracking position and writes its rows without another writer in between."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import cast

from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    PersistenceError,
    Tracking,
)
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from projections.shards import ViewMovedError
from projections.sql import Dialect
from projections.sqlite_null import bind_none_directly
from projections.store import ViewStore
from projections.tables import AuditStore, TicketsStore


@contextmanager
def transaction(datastore: SQLiteDatastore, *, write: bool) -> Iterator[SQLiteCursor]:
    """A transaction on ``datastore``: a writer holds the write lock from ``BEGIN IMMEDIATE``
    to its commit; a reader's ``BEGIN`` gives it one consistent snapshot, then rolls back."""
    with datastore.get_connection(commit=write) as connection:
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        else:
            if write:
                connection.commit()
            else:
                connection.rollback()
        finally:
            cursor.sqlite_cursor.close()


class SQLiteViews:
    """How a view store opens a transaction on SQLite."""

    def __init__(self, datastore: SQLiteDatastore) -> None:
        self.datastore = datastore
        bind_none_directly()  # a ticket row binds dozens of Nones: see projections.sqlite_null
        super().__init__(Dialect("sqlite"))  # type: ignore[call-arg]

    def lock_suffix(self) -> str:
        return ""

    def transaction(self, *, write: bool) -> AbstractContextManager[SQLiteCursor]:
        return transaction(self.datastore, write=write)

    def absorb(self, shards: Sequence[Path], tracking: Tracking) -> None:
        """Copy the rows of ``shards`` (databases holding this view's tables, each for
        other tickets: :mod:`projections.shards`) into this view, which holds none of their
        rows, and record ``tracking``: one transaction."""
        absorb(cast(ViewStore, self), self.datastore, shards, tracking)


def absorb(
    view: ViewStore, datastore: SQLiteDatastore, shards: Sequence[Path], tracking: Tracking
) -> None:
    """:meth:`SQLiteViews.absorb` of ``view``."""
    try:
        with datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            attached: list[str] = []
            try:
                for index, path in enumerate(shards):  # ATTACH: outside a transaction
                    cursor.execute(f"ATTACH DATABASE ? AS shard{index}", (str(path),))
                    attached.append(f"shard{index}")
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    _still_empty(view, cursor, tracking)
                    # Indexes built once over the copied rows, not row by row while copying:
                    # a third of the copy's time (DDL is transactional: all or nothing).
                    indexes = view.secondary_indexes()
                    for name, _ in indexes:
                        cursor.execute(f"DROP INDEX IF EXISTS main.{name}")
                    for table in view.names:
                        target = view.dialect.table(table)
                        for name in attached:
                            cursor.execute(
                                f"INSERT INTO main.{target} SELECT * FROM {name}.{target}"  # noqa: S608 - our table names
                            )
                    view.create_indexes(cursor)
                    view.record_tracking(cursor, tracking)
                except BaseException:
                    connection.rollback()
                    raise
                connection.commit()
            finally:
                for name in attached:
                    cursor.execute(f"DETACH DATABASE {name}")
                cursor.sqlite_cursor.close()
    except sqlite3.Error as error:
        raise _translated(error) from error


def _still_empty(view: ViewStore, cursor: SQLiteCursor, tracking: Tracking) -> None:
    """ViewMovedError if the view has a tracking position: another process caught it up."""
    cursor.execute(
        view.sql(
            f"SELECT notification_id FROM {{{view.view}_tracking}} "  # noqa: S608 - our table
            "WHERE application_name = :app"
        ),
        {"app": tracking.application_name},
    )
    found = cursor.fetchone()
    if found is not None:
        raise ViewMovedError(f"the {view.view} view reached position {found[0]} meanwhile")


def _translated(error: sqlite3.Error) -> PersistenceError:
    if isinstance(error, sqlite3.IntegrityError):
        return IntegrityError(error)
    if isinstance(error, sqlite3.OperationalError):
        return OperationalError(error)
    return DatabaseError(error)


class SQLiteTicketsView(SQLiteViews, TicketsStore):
    """The tickets view on SQLite."""

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[SQLiteCursor]:
        try:
            with super().transaction(write=write) as cursor:
                yield cursor
        except sqlite3.Error as error:
            raise _translated(error) from error


class SQLiteAuditView(SQLiteViews, AuditStore):
    """The audit index on SQLite."""

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[SQLiteCursor]:
        try:
            with super().transaction(write=write) as cursor:
                yield cursor
        except sqlite3.Error as error:
            raise _translated(error) from error
