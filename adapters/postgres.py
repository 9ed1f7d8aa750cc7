"""PostgreSQL specifics of the store: opening a schema once, and how events are written.

**Opening.** :func:`prepared` runs before a Desk is built on a PostgreSQL store. It connects
once with psycopg, so an unreachable server, a wrong database or user comes back as a
:class:`~adapters.stores.StoreUnavailableError` with the server's reason (eventsourcing's pool
only says "couldn't get a connection", after retrying). Then:

* the schema and the application's tables exist: the Desk is opened with eventsourcing's
  ``CREATE_TABLE`` off, so an open runs no DDL. (With it on, every open re-ran
  ``CREATE TYPE``/``CREATE TABLE IF NOT EXISTS``/``CREATE OR REPLACE FUNCTION``; processes
  opening one schema at once failed with "tuple concurrently updated" or duplicate keys in
  ``pg_type``.)
* otherwise: it takes a PostgreSQL advisory lock for the schema, creates the schema when it
  is missing, and holds the lock while the Desk is opened with ``CREATE_TABLE`` on. A process
  that waited for the lock finds the tables made and opens without DDL. A user who may not
  create the schema is told what to run instead.

**A busy pool.** eventsourcing retries an operation that could not get a connection up to
ten times, each after waiting ``connect_timeout`` for one: with every pooled connection busy,
a command hung for ten times the timeout before failing. :func:`fail_fast_when_busy` makes
that wait the only one: the command fails with a
:class:`~adapters.stores.StoreUnavailableError` naming the pool's size and how to raise it
(docs/embedding.md). Errors of a connection that was obtained are retried as before.

**Writing.** :class:`SingleTransactionRecorder` is eventsourcing's application recorder with
one change: a save is written in one ordinary transaction (``BEGIN``, lock, notify,
``INSERT``, ``COMMIT``) instead of in psycopg's pipeline mode.

Why: eventsourcing writes a save as one ``INSERT ... FROM unnest(%s)`` whose single
parameter holds every event of the save, queued in a pipeline. psycopg's pipeline loop
(3.3.9, its pure-Python and its binary build alike) calls ``PQflush()`` once per queued
command and then waits only for the server's answer. When the message is larger than the
socket takes in those few flushes, the rest stays in libpq's output buffer: the server waits
for it (``ClientRead``), the client waits for a reply (``poll``), forever. An import's unit
of work of about 7,000 events (a few MB) crossed that line. Outside pipeline mode psycopg
flushes until libpq's buffer is empty, so a save of any size goes through, still in one
transaction: a unit of work stays all or nothing.

psycopg's binary build hangs the same way. It is a dependency all the same: it saves only
5-8% of the client's CPU time on an import (composites are encoded in Python either way), but
a rebuild of the views runs 1.7 times as fast with it. Writing a command's small save in the
pipeline, as eventsourcing does, was measured too: `open` took as long (1,090-1,150 µs either
way on a local server), so every save takes the one path.

A large save takes the client a while to encode (about 50 µs per event) after the table is
locked; so that the server's ``idle_in_transaction_session_timeout`` does not end the
session meanwhile, such a transaction allows itself 1 ms more per event.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor, errors
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier, Literal

from adapters.logging import get_logger
from adapters.stores import StoreUnavailableError, redacted

#: The process's logging configuration applies (structlog's own logger would print at
#: info even where the process asked for warnings only, as the bench does).
log = get_logger("deskledger.store")

#: Saves with more events than this get the longer idle-in-transaction allowance.
LARGE_SAVE = 1_000
#: How long an open waits for another process that is creating the same schema's tables.
SETUP_LOCK_TIMEOUT = "30s"
#: First key of DeskLedger's advisory locks ("DL" + 1); the second is derived from the schema.
ADVISORY_LOCK_CLASS = 0x444C01


@contextmanager
def prepared(url: str, env: Mapping[str, str], application: str) -> Iterator[dict[str, str]]:
    """The eventsourcing settings to open ``application`` on the PostgreSQL store at ``url``
    with, once the server answered and the schema exists; see the module docstring.

    Raises :class:`~adapters.stores.StoreUnavailableError` naming the cause.
    """
    schema = env.get("POSTGRES_SCHEMA") or "public"
    tables = [f"{application.lower()}_events", f"{application.lower()}_snapshots"]
    with _connect(url, env) as connection:
        if _has_tables(connection, schema, tables):
            yield {**env, "CREATE_TABLE": "no"}
            return
        _lock_schema(connection, url, schema)
        if _has_tables(connection, schema, tables):  # made while we waited for the lock
            yield {**env, "CREATE_TABLE": "no"}
            return
        _create_schema(connection, url, schema, env["POSTGRES_USER"])
        yield {**env, "CREATE_TABLE": "yes"}
        log.info("store.initialised", store=redacted(url), schema=schema, tables=tables)
    # Closing the connection released the advisory lock.


def fail_fast_when_busy(datastore: Any, url: str) -> None:
    """Make ``datastore`` (eventsourcing's PostgresDatastore) raise StoreUnavailableError,
    which nothing retries, when no pooled connection comes free in time (see above)."""
    from psycopg_pool import PoolTimeout  # noqa: PLC0415 - loaded with the pool already

    checkout = datastore.get_connection
    pool = datastore.pool

    @contextmanager
    def get_connection() -> Iterator[Any]:
        try:
            with checkout() as connection:
                yield connection
        except OperationalError as error:
            if not isinstance(error.__cause__, PoolTimeout):
                raise
            raise StoreUnavailableError(
                f"store {redacted(url)!r} is busy: no connection came free within "
                f"{pool.timeout:g} s (pool of {pool.min_size} kept, up to {pool.max_size}; "
                "raise pool_size, max_overflow or connect_timeout in the store URL)"
            ) from error

    datastore.get_connection = get_connection


def _connect(url: str, env: Mapping[str, str]) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env.get("POSTGRES_PASSWORD") or None,
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT") or 5),
            autocommit=True,
        )
    except psycopg.Error as error:
        raise StoreUnavailableError(
            f"store {redacted(url)!r}: cannot connect: {_reason(error)}"
        ) from error


def _reason(error: psycopg.Error) -> str:
    """The server's (or libpq's) reason in one line: 'database "x" does not exist'."""
    text = " ".join(str(error).split())
    if "FATAL:" in text:
        return text.rsplit("FATAL:", 1)[1].strip()
    return text.removeprefix("connection failed: ")


def _has_tables(connection: psycopg.Connection[Any], schema: str, tables: list[str]) -> bool:
    names = [SQL("{}.{}").format(Identifier(schema), Identifier(t)).as_string() for t in tables]
    row = connection.execute(
        "SELECT bool_and(to_regclass(name) IS NOT NULL) FROM unnest(%s::text[]) AS name",
        (names,),
    ).fetchone()
    return bool(row and row[0])


def _lock_schema(connection: psycopg.Connection[Any], url: str, schema: str) -> None:
    """Wait (bounded) for the session advisory lock that serialises setting up ``schema``."""
    digest = hashlib.sha256(schema.encode()).digest()
    key = int.from_bytes(digest[:4], "big", signed=True)
    connection.execute(SQL("SET lock_timeout = {}").format(Literal(SETUP_LOCK_TIMEOUT)))
    try:
        connection.execute(
            "SELECT pg_advisory_lock(%s::int4, %s::int4)", (ADVISORY_LOCK_CLASS, key)
        )
    except errors.LockNotAvailable as error:
        raise StoreUnavailableError(
            f"store {redacted(url)!r}: another process has been setting up schema "
            f"{_shown(schema)} for more than {SETUP_LOCK_TIMEOUT}; is it stuck?"
        ) from error


def _create_schema(connection: psycopg.Connection[Any], url: str, schema: str, user: str) -> None:
    found = connection.execute("SELECT to_regnamespace(%s) IS NOT NULL", (_shown(schema),))
    row = found.fetchone()
    if row and row[0]:
        return
    try:
        connection.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
    except errors.InsufficientPrivilege as error:
        raise StoreUnavailableError(
            f"store {redacted(url)!r}: schema {_shown(schema)} does not exist and user "
            f"{_shown(user)} may not create it: run CREATE SCHEMA {_shown(schema)} "
            f"AUTHORIZATION {_shown(user)} as the database owner (or deskledger init as a "
            "user who may)"
        ) from error
    log.info("store.schema_created", store=redacted(url), schema=schema)


def _shown(name: str) -> str:
    """An identifier as one would type it in SQL: bare when it can be, else quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", name):
        return name
    return '"' + name.replace('"', '""') + '"'


class SingleTransactionRecorder(PostgresApplicationRecorder):
    """Writes each save in one plain (non-pipelined) transaction; see the module docstring."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with (
            self.datastore.get_connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            self._allow_encoding_time(cursor, len(stored_events))
            self._insert_events(cursor, stored_events, **kwargs)
            if not stored_events:
                return None
            # Lock the table (ids in commit order), notify listeners, insert every event.
            self._insert_stored_events(cursor, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(cursor, stored_events, **kwargs)

    def _allow_encoding_time(self, cursor: Cursor[DictRow], events: int) -> None:
        configured = self.datastore.idle_in_transaction_session_timeout
        if events <= LARGE_SAVE or not configured:
            return
        milliseconds = int(configured * 1000) + events
        cursor.execute(
            SQL("SET LOCAL idle_in_transaction_session_timeout = {}").format(
                Literal(f"{milliseconds}ms")
            )
        )
