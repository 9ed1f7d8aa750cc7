"""A rebuild in parallel processes gives exactly the views of a rebuild in one process.

The store is a generated desk history (ordinary tickets, major incidents with children,
reassignments, holds, reopenings) with two records garbled, so that the views also hold
damage. Each shard process runs with a tiny ticket cache, so the path that loads a ticket
from the store after a cache miss is exercised too. A shard that cannot start or fails
leaves nothing of the shards behind: the rebuild goes on in one process and says why.

Views filled from nothing get their secondary indexes once, at the end (the shards' copy,
and a long rebuild in one process); a rebuild that stops first leaves them to the next
process that opens the views.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.bootstrap import open_desk
from adapters.cli import main
from bench.history import HistoryWriter
from engine.clock import SimulatedClock
from projections import shards
from projections import views as views_module
from projections.shard_worker import _LAST_BYTE
from projections.store import ViewStore
from projections.tables import AuditStore
from projections.views import DeskViews, open_views
from tests.conftest import START
from tests.test_projections_property import dump

EVENTS = 4000
GARBLED = (600, 2900)  # positions of records made unreadable
OPENING = {"title": "after", "caller": "carol", "impact": 2, "urgency": 2}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store of about 4,000 events, two of them unreadable."""
    path = tmp_path_factory.mktemp("parallel") / "history.db"
    desk = open_desk(f"sqlite:///{path}", clock=SimulatedClock(START))
    HistoryWriter(desk, batch=60).grow_to(EVENTS)
    desk.close()
    db = sqlite3.connect(path)
    with db:
        for position in GARBLED:
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (b"{not", position))
    db.close()
    return path


def copy_of(source: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.db"
    shutil.copy(source, target)
    return target


def rebuilt(store: Path, **settings: Any) -> tuple[dict[str, list[tuple[Any, ...]]], DeskViews]:
    """The views of ``store`` rebuilt with ``settings`` (rebuild's keywords; ``python`` and
    ``cache_size`` go to the shard processes), dumped."""
    desk = open_desk(f"sqlite:///{store}")
    views = open_views(desk)
    views.shard_settings = shards.ShardSettings(
        python=settings.pop("python", shards.ShardSettings().python),
        cache_size=settings.pop("cache_size", None),
    )
    views.rebuild(**settings)
    return dump(views), views


@pytest.fixture(scope="module")
def sequential(history: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    views, _ = rebuilt(copy_of(history, tmp_path_factory.mktemp("one"), "one"), workers=1)
    assert views["damaged"], "the garbled records must show as damage"
    return views


def leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob(".deskledger-rebuild-*"))


def fallen_back(history: Path, sequential: dict[str, Any], folder: Path, **settings: Any) -> str:
    """Rebuild a copy of ``history`` with ``settings``, expecting the work to fall back to
    one process: the views still equal ``sequential``, no shard file is left; the reason."""
    views, desk_views = rebuilt(copy_of(history, folder, "fallback"), **settings)
    assert views == sequential
    assert leftovers(folder) == []
    outcome = desk_views.last_rebuild
    assert outcome is not None
    assert outcome.fallback is not None
    return outcome.fallback


@pytest.mark.parametrize("workers", [2, 3])
def test_shards_build_the_same_views_as_one_process(
    history: Path, sequential: dict[str, Any], tmp_path: Path, workers: int
) -> None:
    store = copy_of(history, tmp_path, "shards")
    views, desk_views = rebuilt(store, workers=workers, cache_size=3)
    assert views == sequential
    outcome = desk_views.last_rebuild
    assert outcome is not None
    assert outcome.fallback is None
    assert outcome.workers == workers
    assert len(outcome.shards) == workers
    assert all(shard.events > 0 for shard in outcome.shards)
    assert sum(shard.events for shard in outcome.shards) == outcome.head >= EVENTS
    assert leftovers(tmp_path) == []
    # The copy drops the view's indexes and builds them again over the copied rows.
    assert indexes(store) == every_index(desk_views)


def test_a_long_rebuild_in_one_process_indexes_the_views_once_at_the_end(
    history: Path, sequential: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_module, "DEFER_INDEXES_FROM", 1000)
    store = copy_of(history, tmp_path, "one")
    built: list[tuple[str, int | None]] = []  # the view, and the batch's position if any
    create = ViewStore.create_indexes

    def noted(self: ViewStore, cursor: Any) -> None:
        built.append((self.view, self._indexes_at))
        create(self, cursor)

    monkeypatch.setattr(ViewStore, "create_indexes", noted)
    views, desk_views = rebuilt(store, workers=1)
    assert views == sequential
    head = desk_views.desk.recorder.max_notification_id()
    assert built == [("tickets", head), ("audit", head)]  # in the batch reaching the head
    assert indexes(store) == every_index(desk_views)
    assert not desk_views.tickets.missing_indexes()


def test_a_rebuild_that_stops_leaves_the_indexes_to_the_next_process(
    history: Path, sequential: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_module, "DEFER_INDEXES_FROM", 1000)
    store = copy_of(history, tmp_path, "stopped")
    write = AuditStore.write
    calls = []

    def stops(self: AuditStore, *args: Any) -> int:
        calls.append(1)
        if len(calls) == 2:  # the process dies in its second batch
            raise KeyboardInterrupt
        return write(self, *args)

    monkeypatch.setattr(AuditStore, "write", stops)
    with pytest.raises(KeyboardInterrupt):
        rebuilt(store, workers=1)
    monkeypatch.setattr(AuditStore, "write", write)
    assert "dl_audit_index_ref" not in dict(indexes(store))
    desk = open_desk(f"sqlite:///{store}")
    later = open_views(desk)
    assert later.tickets.missing_indexes()
    later.catch_up()  # behind the head: not built from nothing, the indexes come first
    assert indexes(store) == every_index(later)
    assert dump(later) == sequential
    desk.close()


def every_index(views: DeskViews) -> list[tuple[str, str]]:
    """The views' indexes as :func:`indexes` reads them, as the views define them."""
    wanted = [*views.tickets.secondary_indexes(), *views.audit.secondary_indexes()]
    return sorted(
        (name, views.tickets.sql(sql).replace(" IF NOT EXISTS", "")) for name, sql in wanted
    )


def indexes(store: Path) -> list[tuple[str, str]]:
    """The views' indexes in ``store``, each with the statement that created it."""
    db = sqlite3.connect(store)
    try:
        found = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'dl!_%' "
            "ESCAPE '!' ORDER BY name"
        ).fetchall()
    finally:
        db.close()
    return [(name, sql) for name, sql in found]


def test_events_written_after_a_parallel_rebuild_are_caught_up(
    history: Path, tmp_path: Path
) -> None:
    store = copy_of(history, tmp_path / "a", "shards")
    _, views = rebuilt(store, workers=2)
    views.desk.execute("open", {"ref": "INC9000001", **OPENING}, actor="alice")
    ref = views.tickets.rows(
        "SELECT ref FROM {tickets} WHERE state = 'in_progress' ORDER BY ref LIMIT 1"
    )[0]["ref"]
    views.desk.execute("comment", {"ref": ref, "text": "later"}, actor="alice")
    views.catch_up()
    caught_up = dump(views)
    views.desk.close()
    again, _ = rebuilt(copy_of(store, tmp_path / "b", "one"), workers=1)
    assert caught_up == again


def test_the_first_catch_up_of_a_store_is_built_by_shards(
    history: Path, sequential: dict[str, Any], tmp_path: Path
) -> None:
    desk = open_desk(f"sqlite:///{copy_of(history, tmp_path, 'fresh')}")
    views = open_views(desk)
    views.shard_settings = shards.ShardSettings(workers=2)
    assert views.catch_up() == views.desk.recorder.max_notification_id()
    assert views.last_rebuild is not None
    assert views.last_rebuild.workers == 2
    assert views.last_rebuild.fallback is None
    assert dump(views) == sequential
    assert views.catch_up() == 0


def test_views_caught_up_by_another_process_meanwhile_keep_that_process_rows(
    history: Path, sequential: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = copy_of(history, tmp_path, "raced")
    build = shards.build_shards

    def raced(**job: Any) -> Any:
        built = build(**job)
        other = open_views(open_desk(f"sqlite:///{store}"))  # a reader's first catch-up
        other.shard_settings = shards.ShardSettings(workers=1)
        other.catch_up()
        other.desk.close()
        return built

    monkeypatch.setattr(shards, "build_shards", raced)
    views, desk_views = rebuilt(store, workers=2)
    assert views == sequential
    outcome = desk_views.last_rebuild
    assert outcome is not None
    assert outcome.fallback is not None
    assert "view reached position" in outcome.fallback


def test_a_shard_that_cannot_start_leaves_the_rebuild_to_one_process(
    history: Path, sequential: dict[str, Any], tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-python")
    reason = fallen_back(history, sequential, tmp_path, workers=2, python=missing)
    assert reason.startswith(f"shard 0 could not start {missing}: ")


def test_a_shard_that_fails_is_named_and_nothing_of_the_shards_is_kept(
    history: Path, sequential: dict[str, Any], tmp_path: Path
) -> None:
    failing = tmp_path / "failing-python"
    failing.write_text("#!/bin/sh\necho 'MemoryError: out of memory in shard' >&2\nexit 3\n")
    failing.chmod(failing.stat().st_mode | stat.S_IEXEC)
    reason = fallen_back(history, sequential, tmp_path, workers=2, python=str(failing))
    assert "(exit 3): MemoryError: out of memory in shard" in reason


def test_when_one_shard_fails_the_others_are_stopped_not_waited_for(
    history: Path, sequential: dict[str, Any], tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    wrapper = tmp_path / "one-shard-fails"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys, time\n"
        "job = json.loads(sys.stdin.read())\n"
        "if job['shard'] == 1:\n"
        "    sys.exit('OSError: disk full in shard 1')\n"
        f"open(os.path.join({str(pids)!r}, str(os.getpid())), 'w').close()\n"
        "time.sleep(600)\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    reason = fallen_back(history, sequential, tmp_path, workers=3, python=str(wrapper))
    assert reason == "shard 1 stopped (exit 1): OSError: disk full in shard 1"
    started = [int(path.name) for path in pids.iterdir()]
    assert len(started) == 2  # shards 0 and 2, asleep until stopped
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_no_room_for_the_shards_leaves_the_work_to_one_process(
    history: Path, sequential: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_room(store_file: str) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shards, "scratch_folder", no_room)
    reason = fallen_back(history, sequential, tmp_path, workers=2)
    assert reason == "no room for the shards beside the store: [Errno 28] No space left on device"


def test_only_sqlite_files_and_long_logs_are_sharded() -> None:
    cpus = min(shards.available_cpus(), shards.MAX_WORKERS)
    assert shards.worker_count(None, shards.PARALLEL_FROM, sqlite_file=True) == cpus
    assert shards.worker_count(None, shards.PARALLEL_FROM - 1, sqlite_file=True) == 1
    assert shards.worker_count(4, 10, sqlite_file=True) == 4
    assert shards.worker_count(50, 10, sqlite_file=True) == shards.MAX_WORKERS
    assert shards.worker_count(4, 10**7, sqlite_file=False) == 1
    with pytest.raises(ValueError, match="at least 1"):
        shards.worker_count(0, 10, sqlite_file=True)


def test_a_memory_store_is_rebuilt_in_one_process(memory_desk: Any) -> None:
    memory_desk.execute("open", {"ref": "INC1", **OPENING}, actor="alice")
    views = open_views(memory_desk)
    assert views.rebuild(workers=4) == memory_desk.recorder.max_notification_id()
    assert views.last_rebuild is not None
    assert views.last_rebuild.workers == 1


@pytest.mark.postgres
def test_a_postgresql_store_is_rebuilt_in_one_process(postgres_url: str) -> None:
    desk = open_desk(postgres_url, clock=SimulatedClock(START))
    desk.execute("open", {"ref": "INC1", **OPENING}, actor="alice")
    views = open_views(desk)
    views.rebuild(workers=4)
    assert views.last_rebuild is not None
    assert views.last_rebuild.workers == 1
    assert [row["ref"] for row in views.tickets.rows("SELECT ref FROM {tickets}")] == ["INC1"]
    desk.close()


@pytest.mark.postgres
def test_postgresql_views_keep_their_indexes_and_get_back_missing_ones(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_module, "DEFER_INDEXES_FROM", 2)
    desk = open_desk(postgres_url, clock=SimulatedClock(START))
    for number in range(3):
        desk.execute("open", {"ref": f"INC{number}", **OPENING}, actor="alice")
    views = open_views(desk)
    dropped: list[str] = []
    monkeypatch.setattr(ViewStore, "defer_indexes", lambda self, until: dropped.append(self.view))
    views.rebuild()
    monkeypatch.undo()
    assert dropped == []  # PostgreSQL keeps them up to date: cheaper than building them after
    assert not views.tickets.missing_indexes()
    assert not views.audit.missing_indexes()
    views.tickets.defer_indexes(10**9)  # the indexes dropped, as by hand
    assert views.tickets.missing_indexes()
    again = open_views(desk)
    again.ensure()
    assert not again.tickets.missing_indexes()
    desk.close()


@given(st.uuids(), st.integers(min_value=1, max_value=shards.MAX_WORKERS))
def test_the_database_puts_a_record_in_the_same_shard_as_python(
    stream: uuid.UUID, count: int
) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (originator_id TEXT)")
    for text in (stream.hex, str(stream).upper()):
        db.execute("DELETE FROM t")
        db.execute("INSERT INTO t VALUES (?)", (text,))
        (found,) = db.execute(f"SELECT {_LAST_BYTE} % ? FROM t", (count,)).fetchone()
        assert found == shards.shard_of(stream, count)
    db.close()


def test_the_cli_rebuilds_in_processes_and_checks_their_number(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{copy_of(history, tmp_path, 'cli')}"
    capsys.readouterr()
    assert main(["--store", store, "rebuild", "--workers", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["workers"] == 2
    assert report["fallback"] is None
    assert report["events"] == max(view["head"] for view in report["views"])
    assert all(view["lag"] == 0 for view in report["views"])
    for bad in ("0", "9", "-1"):
        assert main(["--store", store, "rebuild", "--workers", bad]) == 2
        error = capsys.readouterr().err
        assert f"--workers: {bad} is not between 1 and 8" in error
        assert "Traceback" not in error
