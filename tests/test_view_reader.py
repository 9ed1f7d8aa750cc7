"""A SQLite store's views read in place (``projections.reader.ViewReader``) answer every query
exactly as the store's own read side does, and leave to it what needs the engine: views
behind the log, missing or built by an older version, calendars and a ticket's events.

``show`` reads views that are up to date without importing the engine
(tests/test_cli_startup.py); here the answers are compared, query by query.
"""

# ruff: noqa: SIM300 - `assert expected == actual`, as in the other tests

from __future__ import annotations

import contextlib
import io
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import open_desk, open_queries
from adapters.cli import main
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.commands import parse_command
from engine.errors import DeskLedgerError
from engine.ids import APPLICATION_NAME, ticket_id
from projections.queries import Queries
from projections.reader import EVENTS_TABLE, ViewReader
from projections.views import DeskViews, open_views

START = datetime(2026, 3, 2, 8, 55, tzinfo=UTC)
POLICY = {
    "slas": [
        {"name": "Response", "kind": "response", "target": "1h"},
        {
            "name": "Resolution",
            "kind": "resolution",
            "target": "8h",
            "calendar": "office",
            "pause_on": ["awaiting_caller"],
        },
    ],
    "calendars": {
        "office": {"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]}},
    },
}


def _open(ref: str, **extra: Any) -> dict[str, Any]:
    return {"ref": ref, "title": f"{ref} down", "caller": "c", "impact": 2, "urgency": 2, **extra}


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, SimulatedClock]:
    """A SQLite store with tickets in several states, its views not caught up yet."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    clock = SimulatedClock(START)
    desk = open_desk(url, clock=clock, wall_clock=clock)
    try:
        desk.load_policy(POLICY, actor="admin")
        for number in range(1, 5):
            desk.execute("open", _open(f"INC{number}", group="net"), actor="alice")
        clock.advance(timedelta(minutes=20))
        desk.execute("start", {"ref": "INC1"}, actor="bob")
        desk.execute("hold", {"ref": "INC2", "reason": "awaiting_vendor"}, actor="bob")
        clock.advance(timedelta(hours=3))
        desk.execute("resolve", {"ref": "INC3", "code": "solved", "notes": "n"}, actor="bob")
        desk.handle(
            parse_command("open", _open("INC5")),
            actor="importer",
            source={"system": "elsewhere", "line": 7},
        )
        clock.advance(timedelta(hours=2))
    finally:
        desk.close()
    return url, clock


def _both(url: str, clock: SimulatedClock) -> tuple[Queries, Queries, Desk]:
    """Queries over the views read in place, and over the store's read side."""
    desk = open_desk(url, clock=clock, wall_clock=clock)
    full = open_views(desk)
    reader = ViewReader(url.removeprefix("sqlite:///"), clock=clock, open_full=lambda: full)
    return Queries(reader), Queries(full), desk


def _answer(queries: Queries, query: str, ref: str, as_of: datetime | None) -> Any:
    """What ``queries.<query>(ref, as_of=as_of)`` returns, or the error it raises."""
    try:
        return getattr(queries, query)(ref, as_of=as_of)
    except DeskLedgerError as error:
        return (type(error), str(error))


def _reader(queries: Queries) -> ViewReader:
    assert isinstance(queries.views, ViewReader)
    return queries.views


def test_every_query_answers_as_the_store_read_side_does(
    store: tuple[str, SimulatedClock],
) -> None:
    url, clock = store
    in_place, full, desk = _both(url, clock)
    try:
        assert None is _reader(in_place).lag()  # no views yet: the store's read side makes them
        in_place.ticket("INC1")
        assert 0 == _reader(in_place).lag()
        earlier = START + timedelta(minutes=30)
        for ref in ("INC1", "INC2", "INC3", "INC4", "INC5", "INC404"):
            for as_of in (None, earlier):
                for query in ("ticket", "sla", "audit"):
                    asked = (query, ref, as_of)
                    assert _answer(full, *asked) == _answer(in_place, *asked)
        assert full.tickets().tickets == in_place.tickets().tickets
        assert full.tickets(as_of=earlier).tickets == in_place.tickets(as_of=earlier).tickets
        assert full.queue() == in_place.queue()
        assert full.sla() == in_place.sla()
        assert full.timeline("INC3").as_dict() == in_place.timeline("INC3").as_dict()
        assert full.report() == in_place.report()
    finally:
        desk.close()


def test_views_that_are_up_to_date_are_read_without_the_store_read_side(
    store: tuple[str, SimulatedClock],
) -> None:
    url, clock = store
    desk = open_desk(url, clock=clock)
    open_views(desk).catch_up()
    desk.close()

    def refuse() -> DeskViews:
        raise AssertionError("the store's read side was opened")

    reader = ViewReader(url.removeprefix("sqlite:///"), clock=clock, open_full=refuse)
    queries = Queries(reader)
    assert "on_hold" == queries.ticket("INC2")["state"]
    assert ["INC1", "INC2", "INC3", "INC4", "INC5"] == [t["ref"] for t in queries.tickets().tickets]
    assert ["INC1", "INC2", "INC4", "INC5"] == sorted(row["ref"] for row in queries.queue())
    assert (False, True) == (reader.imported("INC1"), reader.imported("INC5"))


def test_views_behind_the_log_are_caught_up_by_the_store_read_side(
    store: tuple[str, SimulatedClock],
) -> None:
    url, clock = store
    in_place, _, desk = _both(url, clock)
    try:
        in_place.ticket("INC4")
        desk.execute("start", {"ref": "INC4"}, actor="bob")
        assert 0 < (_reader(in_place).lag() or 0)
        assert "in_progress" == in_place.ticket("INC4")["state"]
        assert 0 == _reader(in_place).lag()
    finally:
        desk.close()


def test_views_built_by_an_older_version_are_rebuilt_by_the_store_read_side(
    store: tuple[str, SimulatedClock],
) -> None:
    url, clock = store
    expected = open_queries(url, clock=clock).ticket("INC1")
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
        db.execute("ALTER TABLE dl_tickets DROP COLUMN reviewed")
        db.commit()
    queries = open_queries(url, clock=clock)
    assert None is _reader(queries).lag()
    assert expected == queries.ticket("INC1")
    assert 0 == _reader(queries).lag()


def test_the_reader_knows_the_names_the_store_uses(sqlite_desk: Desk) -> None:
    """The events table and the application name the views track their position under."""
    assert EVENTS_TABLE == sqlite_desk.recorder.events_table_name  # type: ignore[attr-defined]
    assert APPLICATION_NAME == sqlite_desk.name


def _show(url: str, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``show``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--store", url, "show", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args", [(), ("--json",), ("--as-of", "2026-03-02T09:00:00+00:00")])
def test_show_prints_the_same_whether_the_views_were_behind_or_not(
    store: tuple[str, SimulatedClock], args: tuple[str, ...]
) -> None:
    url, _ = store
    for ref in ("INC1", "INC2", "INC5"):
        behind = Path(url.removeprefix("sqlite:///")).with_suffix(".behind.db")
        with (
            contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as source,
            contextlib.closing(sqlite3.connect(behind)) as copy,
        ):
            source.backup(copy)
        first = _show(f"sqlite:///{behind}", ref, *args)
        again = _show(f"sqlite:///{behind}", ref, *args)
        assert first == again
        assert first[0] == (2 if (ref, args[:1]) == ("INC5", ("--as-of",)) else 0)
        behind.unlink()


def test_show_on_a_store_that_does_not_exist_creates_it_as_before(tmp_path: Path) -> None:
    """The store's read side opens (and creates) a store the reader cannot open."""
    path = tmp_path / "new.db"
    assert (2, "", "deskledger: error: ticket INC1 not found\n") == _show(
        f"sqlite:///{path}", "INC1"
    )
    assert path.exists()


def test_garbage_in_a_read_ticket_event_fails_show_as_before(
    store: tuple[str, SimulatedClock],
) -> None:
    """An event the views had read, overwritten with garbage afterwards: ``show`` of its
    ticket still says it cannot be read (the reader leaves the ticket's events to the
    engine), other tickets still show."""
    url, _ = store
    assert 0 == _show(url, "INC1")[0]
    path = url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        (rowid,) = db.execute(
            f"SELECT MIN(rowid) FROM {EVENTS_TABLE} WHERE originator_id = ?",
            (ticket_id("INC1").hex,),
        ).fetchone()
        db.execute(f"UPDATE {EVENTS_TABLE} SET state = ? WHERE rowid = ?", (b"\x00junk", rowid))
        db.commit()
    code, _, err = _show(url, "INC1", "--json")
    assert 1 == code
    assert "UnreadableEventError" in err
    assert 0 == _show(url, "INC2")[0]


def test_read_commands_use_the_reader_on_sqlite_only(
    store: tuple[str, SimulatedClock], tmp_path: Path
) -> None:
    url, _ = store
    assert isinstance(open_queries(url).views, ViewReader)
    assert isinstance(open_queries("memory://").views, DeskViews)
    assert isinstance(open_queries("sqlite:///:memory:").views, DeskViews)
