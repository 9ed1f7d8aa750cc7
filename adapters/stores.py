"""Store URLs (SPEC §14) → eventsourcing persistence settings.

``memory://``, ``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` and
``postgresql://user:pass@host:port/db`` (optional ``?schema=name``) select eventsourcing's
``popo``, ``sqlite`` and ``postgres`` persistence modules. Nothing connects here: the
settings are handed to :class:`engine.application.Desk`, which builds its recorder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import UUID

from engine.errors import DeskLedgerError, UnavailableError


class StoreURLError(DeskLedgerError, ValueError):
    """The store URL is not one DeskLedger understands."""


class StoreUnavailableError(UnavailableError):
    """The store could not be reached or opened (exit code 3)."""


_SQLITE_HEADER = b"SQLite format 3\x00"


def _check_sqlite_file(url: str, file: Path) -> None:
    """An existing store file must be a SQLite database (an empty file becomes one)."""
    if file.is_dir():
        raise StoreURLError(f"store {url!r}: {file} is a directory, not a database file")
    try:
        with file.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as error:
        raise StoreUnavailableError(
            f"store {url!r}: cannot read {file}: {error.strerror}"
        ) from None
    if header and header != _SQLITE_HEADER:
        raise StoreURLError(f"store {url!r}: {file} is not a SQLite database")


def store_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a store URL."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        raw = url[len("sqlite://") :]
        if not raw.startswith("/") or raw == "/":
            raise StoreURLError(
                f"store {url!r}: use sqlite:///relative.db or sqlite:////absolute/path.db"
            )
        path = raw[1:]  # sqlite:///x.db -> x.db ; sqlite:////abs/x.db -> /abs/x.db
        if path != ":memory:":
            file = Path(path).expanduser().resolve()
            if not file.parent.is_dir():
                raise StoreUnavailableError(
                    f"store {url!r}: directory {file.parent} does not exist"
                )
            _check_sqlite_file(url, file)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if parts.scheme in {"postgresql", "postgres"}:
        database = parts.path.lstrip("/")
        if not parts.hostname or not database:
            raise StoreURLError(f"store {url!r}: use postgresql://user:pass@host:port/database")
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": database,
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
        }
        schema = parse_qs(parts.query).get("schema")
        if schema:
            env["POSTGRES_SCHEMA"] = schema[0]
        return env
    raise StoreURLError(
        f"store {url!r}: unknown scheme {parts.scheme!r} "
        "(use memory://, sqlite:///file.db or postgresql://user:pass@host:port/db)"
    )


_LISTABLE = frozenset({"eventsourcing.sqlite", "eventsourcing.postgres"})


def snapshot_lister(snapshots: object) -> Callable[[], list[UUID]] | None:
    """A query listing the streams that have snapshots in ``snapshots`` (an event store), for
    SQLite and PostgreSQL; None for others. ``verify`` asks it once instead of asking every
    stream of the log for its snapshots (one query per ticket)."""
    recorder: Any = getattr(snapshots, "recorder", None)
    module = type(recorder).__module__
    table = getattr(recorder, "events_table_name", None)
    if not isinstance(table, str) or module not in _LISTABLE:
        return None
    datastore = recorder.datastore
    if module == "eventsourcing.sqlite":

        def sqlite_streams() -> list[UUID]:
            with datastore.transaction(commit=False) as cursor:
                cursor.execute(f'SELECT DISTINCT originator_id FROM "{table}"')  # noqa: S608 - the library's table name
                return [UUID(str(row[0])) for row in cursor.fetchall()]

        return sqlite_streams

    from psycopg import sql  # noqa: PLC0415 - PostgreSQL stores only

    statement = sql.SQL("SELECT DISTINCT originator_id FROM {}.{}").format(
        sql.Identifier(datastore.schema or "public"), sql.Identifier(table)
    )

    def postgres_streams() -> list[UUID]:
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(statement)
            return [UUID(str(row["originator_id"])) for row in cursor.fetchall()]

    return postgres_streams
