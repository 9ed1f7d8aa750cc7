"""PostgreSQL specifics of the store: how events are written.

:class:`SingleTransactionRecorder` is eventsourcing's application recorder with one change:
a save is written in one ordinary transaction (``BEGIN``, lock, notify, ``INSERT``,
``COMMIT``) instead of in psycopg's pipeline mode.

Why: eventsourcing writes a save as one ``INSERT ... FROM unnest(%s)`` whose single
parameter holds every event of the save, queued in a pipeline. psycopg's pipeline loop
(3.3.9, its pure-Python and its binary build alike) calls ``PQflush()`` once per queued
command and then waits only for the server's answer. When the message is larger than the
socket takes in those few flushes, the rest stays in libpq's output buffer: the server waits
for it (``ClientRead``), the client waits for a reply (``poll``), forever. An import's unit
of work of about 7,000 events (a few MB) crossed that line. Outside pipeline mode psycopg
flushes until libpq's buffer is empty, so a save of any size goes through, still in one
transaction: a unit of work stays all or nothing.

A large save takes the client a while to encode (about 50 µs per event) after the table is
locked; so that the server's ``idle_in_transaction_session_timeout`` does not end the
session meanwhile, such a transaction allows itself 1 ms more per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Literal

#: Saves with more events than this get the longer idle-in-transaction allowance.
LARGE_SAVE = 1_000


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
