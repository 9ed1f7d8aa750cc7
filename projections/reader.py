"""A SQLite store's views read in place, the engine loaded only when a read needs it.

:class:`ViewReader` is a :class:`~projections.reading.ReadSide` over the views in a SQLite
store's file, read with :mod:`sqlite3` alone and the statements of
:mod:`projections.reading`. Importing the engine (its event classes, eventsourcing) costs a
command line more than the read itself, and most reads do not need it: while the views are
up to date with the log — each view's tracking position at the log's head, a few indexed
reads — ``show``, ``tickets`` or ``queue`` answer from the rows alone.

What needs the engine is asked of the store's own read side
(:class:`~projections.views.DeskViews`), opened on first need by the ``open_full`` it is
given: catching the views up when they are behind the log (or do not exist yet, or were built
by an older version), the pinned calendars (SLA timers run on to an instant) and a ticket's
events (``audit``, timelines). A query behind the log therefore answers exactly as the store's
read side does: it is the store's read side that catches the views up.

Each read is one transaction on a connection of its own, closed at its end: nothing stays
open between reads, and the reader holds no lock a writer could wait on.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.clock import Clock
from engine.ids import APPLICATION_NAME, ticket_id
from projections.reading import AuditReads, ReadSide, TicketReads, ViewReads
from projections.sql import Dialect

if TYPE_CHECKING:
    from engine.calendar import BusinessCalendar

#: eventsourcing's table of a SQLite store's events; its ``rowid`` is an event's position in
#: the log, the notification id the views track.
EVENTS_TABLE = "stored_events"
#: How long a read waits for a lock (seconds), as the store's own connections do.
LOCK_TIMEOUT = 10.0


class StoreFile:
    """A SQLite store's database file, opened for one read transaction at a time."""

    def __init__(self, path: str | Path) -> None:
        # ``mode=rw``: a file that does not exist is an error here, never created (the store's
        # read side creates a new store).
        self.uri = Path(path).absolute().as_uri() + "?mode=rw"

    @contextmanager
    def read(self) -> Iterator[sqlite3.Cursor]:
        """A cursor in one read transaction (one snapshot of the file); closing the
        connection at the end rolls it back."""
        connection = sqlite3.connect(self.uri, uri=True, timeout=LOCK_TIMEOUT, isolation_level=None)
        try:
            connection.row_factory = sqlite3.Row
            cursor = connection.cursor()
            cursor.execute("BEGIN")
            yield cursor
        finally:
            connection.close()


class _InPlace(ViewReads):
    """How a view's reads open a transaction here: on the store's file."""

    def __init__(self, file: StoreFile) -> None:
        self.file = file
        self.dialect = Dialect("sqlite")

    def transaction(self, *, write: bool) -> Any:
        if write:
            raise TypeError(f"the {self.view} view is only read here")
        return self.file.read()


class InPlaceTickets(_InPlace, TicketReads):
    """The tickets view of a SQLite store, read in place."""


class InPlaceAudit(_InPlace, AuditReads):
    """The audit index of a SQLite store, read in place."""


class ViewReader:
    """The views of the SQLite store at ``path``, read in place (see the module doc).

    ``clock`` says "now" for queries without ``as_of``; ``open_full`` opens the store's own
    read side, for what needs the engine (called at most once).
    """

    def __init__(
        self, path: str | Path, *, clock: Clock, open_full: Callable[[], ReadSide]
    ) -> None:
        self.file = StoreFile(path)
        self.clock = clock
        self._open_full = open_full
        self._tickets = InPlaceTickets(self.file)
        self._audit = InPlaceAudit(self.file)

    @property
    def tickets(self) -> TicketReads:
        return self._tickets

    @property
    def audit(self) -> AuditReads:
        return self._audit

    @cached_property
    def full(self) -> ReadSide:
        """The store's own read side (the engine is imported and the store opened now)."""
        return self._open_full()

    # ------------------------------------------------------------------ ReadSide

    def catch_up(self) -> int:
        """Nothing to do while the views are up to date; else the store's read side catches
        them up (creating or rebuilding them first where it has to)."""
        if self.lag() == 0:
            return 0
        return self.full.catch_up()

    def now(self) -> datetime:
        return self.clock.now()

    def calendar(self, version: int, name: str) -> BusinessCalendar:
        return self.full.calendar(version, name)

    def history(self, ref: str) -> Iterator[Any]:
        return self.full.history(ref)

    # ------------------------------------------------------------------ in place

    def lag(self) -> int | None:
        """How many positions the views are behind the log's head (0: up to date); None when
        they cannot be read here: a view's tables or tracking table do not exist, lack a
        column this code reads (built by an older version), or the file cannot be read."""
        views: tuple[ViewReads, ...] = (self._tickets, self._audit)
        try:
            with self.file.read() as cursor:
                positions = []
                for view in views:
                    for table, wanted in view.columns.items():
                        cursor.execute(
                            view.sql(f"SELECT {', '.join(wanted)} FROM {{{table}}} WHERE 1 = 0")
                        )
                    cursor.execute(
                        view.sql(
                            f"SELECT notification_id FROM {{{view.view}_tracking}} "
                            "WHERE application_name = :app"
                        ),
                        {"app": APPLICATION_NAME},
                    )
                    found = cursor.fetchone()
                    positions.append(0 if found is None else int(found[0]))
                cursor.execute(f"SELECT MAX(rowid) FROM {EVENTS_TABLE}")
                head = int(cursor.fetchone()[0] or 0)
        except sqlite3.Error:
            return None
        return max(0, head - min(positions))

    def imported(self, ref: str) -> bool:
        """Whether an event of ticket ``ref`` may have been imported from another tool: one of
        its stored events carries a ``source``, or cannot be read here (then the engine will
        tell). The views keep no sources: this reads the ticket's own records in the log,
        as JSON (a few rows, by their primary key)."""
        try:
            with self.file.read() as cursor:
                cursor.execute(
                    f"SELECT state FROM {EVENTS_TABLE} WHERE originator_id = ?",
                    (ticket_id(ref).hex,),
                )
                states = [row[0] for row in cursor.fetchall()]
        except sqlite3.Error:
            return True
        for state in states:
            try:
                fields = json.loads(state)
            except (ValueError, TypeError):
                return True
            if not isinstance(fields, dict) or fields.get("source") is not None:
                return True
        return False
