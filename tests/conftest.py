"""Shared fixtures: a simulated clock, a Desk on every store, and a "nothing written" check.

The ``desk`` fixture runs a test once per store (README.md): ``memory://``, a real SQLite file
in ``tmp_path`` and PostgreSQL. Each PostgreSQL test gets its own schema (created here, since
eventsourcing does not create schemas, and dropped afterwards), so tests never see each
other's events and can run against a shared server.

PostgreSQL defaults to ``postgresql://postgres@127.0.0.1:5432/test`` (trust auth); set
``DESKLEDGER_TEST_POSTGRES`` to another URL. When it is unreachable the PostgreSQL tests are
skipped, except with ``CI=true``, where they fail: CI must not go green without PostgreSQL.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import structlog
from psycopg import sql

from adapters.bootstrap import open_desk
from engine.application import CommandResult, Desk
from engine.clock import SimulatedClock
from engine.envelope import stored_line
from engine.errors import DeskLedgerError
from engine.hashformat import line_hash
from engine.ids import ticket_id

START = datetime(2026, 3, 2, 8, 55, tzinfo=UTC)
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def postgres_base_url() -> str:
    """The server URL without a query (``?schema=`` is added per test)."""
    parts = urlsplit(os.environ.get("DESKLEDGER_TEST_POSTGRES") or DEFAULT_POSTGRES)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _postgres_conninfo(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL base URL once it answers; skip (or fail under CI=true) otherwise."""
    url = postgres_base_url()
    try:
        with psycopg.connect(_postgres_conninfo(url), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        message = f"PostgreSQL not reachable at {url}: {reason}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@contextmanager
def postgres_schema(server: str) -> Iterator[str]:
    """A store URL on a fresh, empty schema of its own on ``server``; dropped on exit (also
    for tests that need several fresh stores in one test, e.g. one per hypothesis example)."""
    schema = f"dl_test_{uuid.uuid4().hex[:16]}"
    conninfo = _postgres_conninfo(server)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{server}?schema={schema}"
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
            )


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A store URL on a fresh, empty schema of its own; the schema is dropped afterwards."""
    with postgres_schema(postgres_server) as url:
        yield url


@pytest.fixture
def clock() -> SimulatedClock:
    """Business time for commands without ``at``: Monday 2026-03-02 08:55 UTC."""
    return SimulatedClock(START)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A real SQLite file (absolute path: ``sqlite:////abs/path.db``)."""
    return f"sqlite:///{tmp_path.resolve() / 'deskledger.db'}"


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store of each kind."""
    kind: str = request.param
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=[p for p in STORES if p.id != "memory"])
def shared_store_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty store that several Desk instances can share (SQLite, PostgreSQL)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def open_store(clock: SimulatedClock) -> Iterator[Callable[[str], Desk]]:
    """Open (more) Desk instances on a store URL; all are closed at teardown."""
    opened: list[Desk] = []

    def _open(url: str) -> Desk:
        desk = open_desk(url, clock=clock, wall_clock=clock)
        opened.append(desk)
        return desk

    yield _open
    for desk in reversed(opened):
        desk.close()


@pytest.fixture
def desk(store_url: str, open_store: Callable[[str], Desk]) -> Desk:
    """A Desk on an empty store — once per store (memory, SQLite file, PostgreSQL)."""
    return open_store(store_url)


@pytest.fixture
def memory_desk(open_store: Callable[[str], Desk]) -> Desk:
    """A Desk on ``memory://``, for rules that do not depend on the store."""
    return open_store("memory://")


@pytest.fixture
def sqlite_desk(sqlite_url: str, open_store: Callable[[str], Desk]) -> Desk:
    """A Desk on a real SQLite file."""
    return open_store(sqlite_url)


def run_rejected(
    desk: Desk,
    error: type[DeskLedgerError],
    name: str,
    fields: Mapping[str, Any],
    *,
    actor: str = "agent",
    **options: Any,
) -> DeskLedgerError:
    """Run a command that must be rejected with exactly ``error``; assert nothing was written.

    Returns the raised error for further checks. "Nothing" is measured on the store's whole
    log (``max_notification_id``), so it also covers other tickets the command could touch.
    """
    before = desk.recorder.max_notification_id()
    with pytest.raises(DeskLedgerError) as raised:
        desk.execute(name, fields, actor=actor, **options)
    after = desk.recorder.max_notification_id()
    assert type(raised.value) is error, f"expected {error.__name__}, got {raised.value!r}"
    assert before == after, f"rejected {name} wrote events {before} -> {after}"
    return raised.value


def run_writes_nothing(
    desk: Desk, name: str, fields: Mapping[str, Any], *, actor: str = "agent", **options: Any
) -> CommandResult:
    """Run a command that must succeed without writing anything (e.g. a duplicate)."""
    before = desk.recorder.max_notification_id()
    result = desk.execute(name, fields, actor=actor, **options)
    assert before == desk.recorder.max_notification_id(), f"{name} wrote events"
    return result


@pytest.fixture
def rejected() -> Callable[..., DeskLedgerError]:
    """:func:`run_rejected` as a fixture: ``rejected(desk, ErrorClass, "hold", {...})``."""
    return run_rejected


@pytest.fixture
def writes_nothing() -> Callable[..., CommandResult]:
    """:func:`run_writes_nothing` as a fixture."""
    return run_writes_nothing


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Each test starts from structlog's defaults: a CLI test that configured logging (level,
    renderer) must not change what another test's capture_logs() sees."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


FORMAT_1_STORE = Path(__file__).parent / "data" / "format1" / "store.db"
#: The chain head DeskLedger 0.1 printed for that store (tests/data/format1/README.md).
FORMAT_1_HEAD = "28:8127cefbb23687a3c64eb215c254081fc47a2bc71c29b7f36690503e5792ced6"


@pytest.fixture
def format1_url(tmp_path: Path) -> str:
    """A copy of a store written by DeskLedger 0.1, before hash format 2 (a real SQLite file)."""
    copy = tmp_path / "format1.db"
    copy.write_bytes(FORMAT_1_STORE.read_bytes())
    return f"sqlite:///{copy.resolve()}"


def rehash_rewrite(
    path: Path, ref: str, version: int, change: Callable[[dict[str, Any]], None]
) -> None:
    """Edit one event and recompute its hash and every later link of its ticket's chain, as
    someone with write access who read docs/hash-format.md would: per-ticket chains stay
    valid, only the log-wide head changes."""
    desk = open_desk(f"sqlite:///{path}")
    decode = desk.mapper.transcoder.decode
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT rowid, originator_version, topic, state FROM stored_events "
            "WHERE originator_id = ? ORDER BY originator_version",
            (ticket_id(ref).hex,),
        ).fetchall()
        previous: str | None = None
        for rowid, stream_version, topic, raw in rows:
            state = json.loads(raw)
            if stream_version == version:
                change(state)
            if previous is not None:
                state["prev_hash"] = previous
            if stream_version >= version:
                line = stored_line(
                    topic,
                    decode(json.dumps(state).encode()),
                    position=rowid,
                    version=stream_version,
                    stream_id=ticket_id(ref),
                )
                state["hash"] = previous = line_hash(line)
                db.execute(
                    "UPDATE stored_events SET state = ? WHERE rowid = ?",
                    (json.dumps(state).encode(), rowid),
                )
            else:
                previous = state["hash"]
    db.close()
    desk.close()
