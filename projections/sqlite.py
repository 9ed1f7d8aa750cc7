"""The views on SQLite: in the store's own database file (or an in-memory database for
``memory://`` stores). Writers take the database's write lock at ``BEGIN IMMEDIATE``, so a
batch reads its tracking position and writes its rows without another writer in between."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    PersistenceError,
)
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore

from projections.sql import Dialect
from projections.sqlite_null import bind_none_directly
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
