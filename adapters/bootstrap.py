"""The composition root: settings (or a store URL) and clocks in, a ready :class:`Desk` out."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import TYPE_CHECKING
from uuid import UUID

from adapters.clock import SystemClock
from adapters.logging import get_logger
from adapters.settings import Settings
from adapters.stores import (
    StoreUnavailableError,
    StoreURLError,
    head_reader,
    prepared_store,
    redacted,
    snapshot_lister,
    store_env,
    stream_finder,
)
from engine.clock import Clock
from engine.errors import DeskLedgerError

if TYPE_CHECKING:
    from eventsourcing.persistence import PersistenceError

    from engine.application import Desk
    from projections.queries import Queries
    from projections.reading import ReadSide


def open_desk(
    store: str | Settings | None = None,
    *,
    clock: Clock | None = None,
    wall_clock: Clock | None = None,
) -> Desk:
    """Open the store given by URL, by :class:`Settings`, or by the environment (README.md).

    ``clock`` gives business time to commands without an explicit ``at`` (default: the
    system clock); ``wall_clock`` stamps ``recorded_at`` (default: the system clock).
    """
    # The engine is imported here, not with this module: reads of up-to-date views need none
    # of it (see open_queries).
    from eventsourcing.persistence import PersistenceError  # noqa: PLC0415

    from engine.application import Desk  # noqa: PLC0415

    url = _url(store)
    env = store_env(url)
    system = SystemClock()
    try:
        with prepared_store(url, env, Desk.name) as ready:
            desk = Desk(ready, clock=clock or system, wall_clock=wall_clock or system)
    except PersistenceError as error:
        raise _unavailable(url, env, error) from error
    except sqlite3.OperationalError as error:  # raised as is while the first connection opens
        raise StoreUnavailableError(f"store {redacted(url)!r} is unavailable: {error}") from error
    except sqlite3.DatabaseError as error:  # a SQLite header with something else behind it
        raise StoreURLError(
            f"store {redacted(url)!r}: not a usable SQLite database ({error})"
        ) from error
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        from adapters.postgres import fail_fast_when_busy  # noqa: PLC0415

        fail_fast_when_busy(desk.recorder.datastore, url)  # type: ignore[attr-defined]
    desk.on_snapshot_ignored = _log_ignored_snapshot
    desk.snapshot_streams = snapshot_lister(desk.snapshots)
    desk.existing_streams = stream_finder(desk.recorder)
    desk.head_reader = head_reader(desk.recorder)
    return desk


#: PostgreSQL's SQLSTATE for a schema that does not exist.
INVALID_SCHEMA_NAME = "3F000"


def _unavailable(url: str, env: Mapping[str, str], error: PersistenceError) -> DeskLedgerError:
    """The error for a store that could not be opened, with the server's own reason."""
    if getattr(error.__cause__, "sqlstate", None) == INVALID_SCHEMA_NAME:
        schema = env.get("POSTGRES_SCHEMA", "public")
        return StoreURLError(
            f"store {redacted(url)!r}: schema {schema!r} does not exist in database "
            f"{env.get('POSTGRES_DBNAME')!r}; create it (CREATE SCHEMA) or fix ?schema="
        )
    reason = str(error)
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        reason = _postgres_refusal(env) or reason
    return StoreUnavailableError(f"store {redacted(url)!r} is unavailable: {reason}")


def _postgres_refusal(env: Mapping[str, str]) -> str | None:
    """Why the server refuses us (a wrong database, user or password): the connection pool
    only says that it timed out, so ask once more without it."""
    import psycopg  # noqa: PLC0415 - only PostgreSQL stores need it, and only here

    try:
        psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
        ).close()
    except psycopg.Error as error:
        return " ".join(str(error).split())
    return None


def _log_ignored_snapshot(stream: UUID, version: int, why: str) -> None:
    """A read skipped a snapshot and rebuilt the ticket from its events: say so."""
    get_logger("deskledger.snapshots").warning(
        "snapshot.ignored", stream=str(stream), version=version, reason=why
    )


def _url(store: str | Settings | None) -> str:
    return store.store if isinstance(store, Settings) else store or Settings.load().store


def open_read_side(
    store: str | Settings | None = None, *, clock: Clock | None = None
) -> tuple[Desk, Queries]:
    """The store and the one query layer over its views (caught up on every query)."""
    from projections.queries import Queries  # noqa: PLC0415 - only reads need the views
    from projections.views import open_views  # noqa: PLC0415

    desk = open_desk(store, clock=clock)
    return desk, Queries(open_views(desk))


def open_queries(store: str | Settings | None = None, *, clock: Clock | None = None) -> Queries:
    """The query layer over the store's views, for commands that only read them.

    A SQLite store's views are read in place (:class:`projections.reader.ViewReader`): the
    store is opened through the engine only when a query needs it (views behind the log,
    calendars, a ticket's events), so a read of up-to-date views imports no engine. Other
    stores: the query layer of :func:`open_read_side`. Answers are the same either way.
    """
    from projections.queries import Queries  # noqa: PLC0415

    url = _url(store)
    path = _sqlite_file(store_env(url))  # a URL that cannot work fails here, as in open_desk
    if path is None:
        return open_read_side(store, clock=clock)[1]
    from projections.reader import ViewReader  # noqa: PLC0415

    def open_full() -> ReadSide:
        from projections.views import open_views  # noqa: PLC0415

        return open_views(open_desk(store, clock=clock))

    return Queries(ViewReader(path, clock=clock or SystemClock(), open_full=open_full))


def _sqlite_file(env: Mapping[str, str]) -> str | None:
    """The file of a SQLite store, as eventsourcing opens it; None for any other store (and
    for names SQLite reads as a URI or an in-memory database)."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite":
        return None
    name = env["SQLITE_DBNAME"]
    if name.startswith("file:") or ":memory:" in name or "mode=memory" in name:
        return None
    return name
