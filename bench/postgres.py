"""PostgreSQL for the suite: is the server reachable, and a fresh schema per measurement.

eventsourcing does not create schemas, so each measurement creates its own (``bench_<hex>``)
with psycopg and drops it afterwards; DeskLedger and the bare baseline each get a fresh one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url(given: str | None = None) -> str:
    """The server to use: ``--postgres``, else ``DESKLEDGER_TEST_POSTGRES``, else local."""
    url = given or os.environ.get("DESKLEDGER_TEST_POSTGRES") or DEFAULT_URL
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def conninfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


def unreachable(url: str) -> str | None:
    """None when the server answers, else why not (one line)."""
    try:
        with psycopg.connect(conninfo(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        text = str(error).strip()
        return text.splitlines()[0] if text else repr(error)
    return None


@contextmanager
def fresh_schema(url: str) -> Iterator[tuple[str, str]]:
    """A new empty schema: yields (store URL with ``?schema=``, schema name); dropped after."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{url}?schema={schema}", schema
    finally:
        with psycopg.connect(conninfo(url), autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )
