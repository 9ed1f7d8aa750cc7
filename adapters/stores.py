"""Store URLs (SPEC §14) → eventsourcing persistence settings.

``memory://``, ``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` and
``postgresql://user:pass@host:port/db`` (optional ``?schema=name``) select eventsourcing's
``popo``, ``sqlite`` and ``postgres`` persistence modules. Nothing connects here: the
settings are handed to :class:`engine.application.Desk`, which builds its recorder.

A URL that cannot be right (unknown scheme, a port outside 1..65535) is a
:class:`StoreURLError` (bad input, exit 2). Messages name the URL with its password masked
(:func:`redacted`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from engine.errors import DeskLedgerError, UnavailableError

DEFAULT_STORE = "sqlite:///deskledger.db"
#: eventsourcing's recorder for PostgreSQL stores, by topic (nothing imports psycopg until a
#: PostgreSQL store is opened); see adapters/postgres.py for why it is not the default one.
POSTGRES_RECORDER_TOPIC = "adapters.postgres:SingleTransactionRecorder"


class StoreURLError(DeskLedgerError, ValueError):
    """The store URL is not one DeskLedger understands."""


class StoreUnavailableError(UnavailableError):
    """The store could not be reached or opened (exit code 3)."""


def store_url(explicit: str | None = None) -> str:
    """``--store``, else ``DESKLEDGER_STORE``, else ``sqlite:///deskledger.db``."""
    return explicit or os.environ.get("DESKLEDGER_STORE") or DEFAULT_STORE


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
            parent = Path(path).expanduser().resolve().parent
            if not parent.is_dir():
                raise StoreUnavailableError(f"store {url!r}: directory {parent} does not exist")
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
        }
        schema = parse_qs(parts.query).get("schema")
        if schema:
            env["POSTGRES_SCHEMA"] = schema[0]
        return env
    raise StoreURLError(
        f"store {redacted(url)!r}: unknown scheme {parts.scheme!r} "
        "(use memory://, sqlite:///file.db or postgresql://user:pass@host:port/db)"
    )
