"""Store URLs (README.md) → eventsourcing persistence settings.

``memory://``, ``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` and
``postgresql://user:pass@host:port/db`` (optional ``?schema=name``, and the connection pool's
``pool_size``, ``max_overflow`` and ``connect_timeout``) select eventsourcing's
``popo``, ``sqlite`` and ``postgres`` persistence modules. :func:`store_env` connects nowhere:
its settings are handed to :class:`engine.application.Desk`, which builds its recorder.
Around that, :func:`prepared_store` checks a PostgreSQL server and makes sure the schema and
tables exist, created once (see adapters/postgres.py).

A URL that cannot be right (unknown scheme, a port outside 1..65535, a schema name that
needs quoting, a setting it does not know) is a :class:`StoreURLError` (bad input, exit 2).
Messages name the URL with its password masked (:func:`redacted`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from threading import Lock
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit
from uuid import UUID

from engine.errors import DeskLedgerError, UnavailableError
from projections.backend import backend_of

#: eventsourcing's recorder for PostgreSQL stores, by topic (nothing imports psycopg until a
#: PostgreSQL store is opened); see adapters/postgres.py for why it is not the default one.
POSTGRES_RECORDER_TOPIC = "adapters.postgres:SingleTransactionRecorder"
#: Schema names eventsourcing can use: it writes ``schema.type`` unquoted in places.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class StoreURLError(DeskLedgerError, ValueError):
    """The store URL is not one DeskLedger understands."""


class StoreUnavailableError(UnavailableError):
    """The store could not be reached or opened (exit code 3)."""


_SQLITE_HEADER = b"SQLite format 3\x00"


def _check_sqlite_file(url: str, file: Path) -> None:
    """An existing store file must be a SQLite database (an empty file becomes one)."""
    try:
        if file.is_dir():
            raise StoreURLError(f"store {url!r}: {file} is a directory, not a database file")
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


def redacted(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))


def _port(url: str) -> int:
    """The URL's port (5432 when absent); a StoreURLError unless it is 1..65535."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        return 5432
    if not 1 <= port <= 65535:
        text = parts.netloc.rpartition(":")[2]
        shown = text if text.isdigit() else repr(text)
        raise StoreURLError(
            f"store {redacted(url)!r}: port {shown} is not a port number (1 to 65535)"
        )
    return port


def store_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a store URL."""
    try:
        parts = urlsplit(url)
    except ValueError as error:  # e.g. an unclosed IPv6 bracket
        raise StoreURLError(f"store {url!r}: {error}") from None
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
            try:
                file = Path(path).expanduser().resolve()
                folder = file.parent.is_dir()
            except (OSError, RuntimeError, ValueError) as error:  # too long, ~nobody/, NUL
                raise StoreURLError(f"store {url!r}: not a usable file name ({error})") from None
            if not folder:
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
            raise StoreURLError(
                f"store {redacted(url)!r}: use postgresql://user:pass@host:port/database"
            )
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": database,
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(_port(url)),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "APPLICATION_RECORDER_TOPIC": POSTGRES_RECORDER_TOPIC,
            # One connection kept open, more on demand (up to 1 + 10 overflow): a command
            # line uses one at a time, and eventsourcing's default of 5 per process made
            # 20 parallel commands hold all 100 of a default server's connections.
            "POSTGRES_POOL_SIZE": "1",
        }
        env.update(_postgres_options(url, parts.query))
        return env
    raise StoreURLError(
        f"store {redacted(url)!r}: unknown scheme {parts.scheme!r} "
        "(use memory://, sqlite:///file.db or postgresql://user:pass@host:port/db)"
    )


#: The numbers a PostgreSQL store URL may set after ``?``: the eventsourcing setting each
#: one is, and the least and most it may be (docs/embedding.md).
_POSTGRES_NUMBERS = {
    "pool_size": ("POSTGRES_POOL_SIZE", 1, 100),
    "max_overflow": ("POSTGRES_MAX_OVERFLOW", 0, 1000),
    "connect_timeout": ("POSTGRES_CONNECT_TIMEOUT", 1, 600),
}
_POSTGRES_OPTIONS = ("schema", *_POSTGRES_NUMBERS)


def _postgres_options(url: str, query: str) -> dict[str, str]:
    """The settings a PostgreSQL URL's query gives (``schema``, ``pool_size``,
    ``max_overflow``, ``connect_timeout``). A name not among them, a name given twice or a
    value out of range is a StoreURLError: a misspelt ``?shema=`` must not quietly open the
    default schema."""
    shown = redacted(url)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise StoreURLError(
            f"store {shown!r}: the part after '?' must be name=value pairs joined by '&'"
        ) from None
    settings: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name not in _POSTGRES_OPTIONS:
            raise StoreURLError(
                f"store {shown!r}: unknown setting {name!r} "
                f"(a PostgreSQL URL may set {', '.join(_POSTGRES_OPTIONS)})"
            )
        if name in seen:
            raise StoreURLError(f"store {shown!r}: {name} is given more than once")
        seen.add(name)
        if name == "schema":
            if not _SCHEMA_NAME.fullmatch(value):
                raise StoreURLError(
                    f"store {shown!r}: schema {value!r} is not a plain SQL name "
                    "(lower-case letters, digits and _, not starting with a digit, at most 63)"
                )
            settings["POSTGRES_SCHEMA"] = value
            continue
        setting, least, most = _POSTGRES_NUMBERS[name]
        # Bounded before int(): a number of thousands of digits is refused, not converted.
        digits = value.isascii() and value.isdigit() and len(value.lstrip("0")) <= len(str(most))
        if not (digits and least <= int(value) <= most):
            raise StoreURLError(
                f"store {shown!r}: {name} must be a whole number from {least} to {most}, "
                f"got {value!r}"
            )
        settings[setting] = str(int(value))
    return settings


@contextmanager
def prepared_store(url: str, env: dict[str, str], application: str) -> Iterator[dict[str, str]]:
    """The settings to build ``application`` (an eventsourcing app name) on the store with.

    PostgreSQL: the server is reached first (errors name the cause), the schema and tables are
    created at most once, and opening an initialised store runs no DDL; the context must stay
    open while the application is built. Other stores: ``env`` as it is.
    """
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        yield env
        return
    # Imported here so that only PostgreSQL stores pay for importing psycopg (~0.1 s).
    from adapters.postgres import prepared  # noqa: PLC0415

    with prepared(url, env, application) as ready:
        yield ready


def snapshot_lister(snapshots: object) -> Callable[[], list[UUID]] | None:
    """A query listing the streams that have snapshots in ``snapshots`` (an event store), for
    SQLite and PostgreSQL; None for others. ``verify`` asks it once instead of asking every
    stream of the log for its snapshots (one query per ticket)."""
    recorder: Any = getattr(snapshots, "recorder", None)
    backend = backend_of(recorder)
    table = getattr(recorder, "events_table_name", None)
    if not isinstance(table, str) or backend is None:
        return None
    datastore = recorder.datastore
    if backend == "sqlite":

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


#: Stream ids asked for in one SQLite statement (well under its limit of bound parameters).
_IDS_PER_QUERY = 500


def stream_finder(recorder: object) -> Callable[[Sequence[UUID]], set[UUID]] | None:
    """A query telling which of some streams have events in ``recorder``'s store, for SQLite
    and PostgreSQL; None for others. A bulk unit of work asks it once for the tickets an
    import may open, instead of reading each of them (two queries per ticket)."""
    backend = backend_of(recorder)
    table = getattr(recorder, "events_table_name", None)
    if not isinstance(table, str) or backend is None:
        return None
    datastore: Any = getattr(recorder, "datastore", None)
    if backend == "sqlite":

        def sqlite_found(ids: Sequence[UUID]) -> set[UUID]:
            found: set[UUID] = set()
            with datastore.transaction(commit=False) as cursor:
                for start in range(0, len(ids), _IDS_PER_QUERY):
                    chunk = [stream.hex for stream in ids[start : start + _IDS_PER_QUERY]]
                    marks = ",".join("?" * len(chunk))
                    cursor.execute(
                        f'SELECT DISTINCT originator_id FROM "{table}" '  # noqa: S608 - the library's table name
                        f"WHERE originator_id IN ({marks})",
                        chunk,
                    )
                    found.update(UUID(str(row[0])) for row in cursor.fetchall())
            return found

        return sqlite_found

    from psycopg import sql  # noqa: PLC0415 - PostgreSQL stores only

    statement = sql.SQL(
        "SELECT DISTINCT originator_id FROM {}.{} WHERE originator_id = ANY(%s)"
    ).format(sql.Identifier(datastore.schema or "public"), sql.Identifier(table))

    def postgres_found(ids: Sequence[UUID]) -> set[UUID]:
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, [list(ids)])
            return {UUID(str(row["originator_id"])) for row in cursor.fetchall()}

    return postgres_found


class SQLiteHead:
    """The log's head of a SQLite store, read on a connection of its own.

    The head is read once per command (see :mod:`engine.log_head`). Through the library's
    recorder each read takes a pooled connection and a BEGIN/ROLLBACK around one indexed
    statement, about 50 µs; on a connection kept for it, in autocommit mode (each statement
    sees the latest commit, as WAL readers do), about 8 µs. Opened on first use; failures
    are raised as the library's :class:`~eventsourcing.persistence.OperationalError`, like
    any other read of the store."""

    def __init__(self, database: str, table: str, timeout: float) -> None:
        self._database = database
        self._statement = f'SELECT MAX(rowid) FROM "{table}"'  # noqa: S608 - the library's table
        self._timeout = timeout
        self._connection: sqlite3.Connection | None = None
        self._lock = Lock()

    def __call__(self) -> int:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(
                        self._database,
                        uri=True,
                        check_same_thread=False,
                        isolation_level=None,
                        timeout=self._timeout,
                    )
                row = self._connection.execute(self._statement).fetchone()
            except sqlite3.Error as error:
                # Imported here: reads that open no desk (views read in place) never load
                # eventsourcing, and a desk reading its head has loaded it already.
                from eventsourcing.persistence import OperationalError  # noqa: PLC0415

                raise OperationalError(error) from error
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def head_reader(recorder: object) -> SQLiteHead | None:
    """A cheaper read of the log's head for a SQLite file store (None for other stores: an
    in-memory database is private to its connections, PostgreSQL's read is its own)."""
    datastore: Any = getattr(recorder, "datastore", None)
    pool: Any = getattr(datastore, "pool", None)
    table = getattr(recorder, "events_table_name", None)
    if backend_of(recorder) != "sqlite" or not isinstance(table, str) or pool is None:
        return None
    if pool.is_sqlite_memory_mode or not pool.db_name:
        return None
    return SQLiteHead(pool.db_name, table, pool.lock_timeout or 5)
