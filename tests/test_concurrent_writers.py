"""Many processes on one store: plain commands all succeed, nothing is lost or doubled, the
views equal a rebuild, and two view followers (one killed -9) never apply an event twice.

What our testers saw: four processes commenting on one SQLite ticket, 516 of 800 commands
failed with "changed by another writer" although none gave ``--expected-version``, and one
with "at ... before the last event" because two writers' clocks disagreed. A plain command
now retries a lost write race (a random wait, so the losers spread out) and happens at the
later of its clock and the ticket's last event.

These are correctness tests, not benchmarks: nothing here asserts how long anything takes;
the timeouts only keep a hang from blocking the suite.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from queue import Empty
from typing import IO, Any

import pytest

from adapters.bootstrap import open_desk, open_read_side
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.errors import CommandValidationError
from projections.views import DeskViews, open_views
from tests.conftest import START
from tests.test_projections_property import dump

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "adapters.cli"]
REFS = ("BUSY1", "BUSY2", "BUSY3", "BUSY4", "BUSY5")
PROCESSES = 8
COMMANDS = 200
#: Every CLI_EVERY-th command of a worker is a `deskledger` process of its own.
CLI_EVERY = 50
#: How long a worker may take before the test calls it hung (not a performance bound).
HANG = 300


def open_busy_tickets(desk: Desk) -> int:
    """The shared tickets, in progress; returns how many events the log holds."""
    for ref in REFS:
        fields = {"ref": ref, "title": "Busy", "caller": "ann", "impact": 3, "urgency": 3}
        desk.execute("open", fields, actor="setup")
        desk.execute("start", {"ref": ref}, actor="setup")
    return len(list(desk.read_log()))


def marker(worker: int, number: int) -> str:
    return f"w{worker}-{number}"


def command_id(worker: int, number: int) -> str | None:
    """Every other command carries an idempotency key; the others are as plain as can be."""
    return f"id-{marker(worker, number)}" if number % 2 == 0 else None


def one_command(desk: Desk, url: str, worker: int, number: int) -> None:
    """Command ``number`` of ``worker``: one event whose text, assignee or addressee is the
    command's marker, through the Python API or (now and then) a `deskledger` process."""
    ref = REFS[(worker + number) % len(REFS)]
    mark, key = marker(worker, number), command_id(worker, number)
    if number % CLI_EVERY == worker * CLI_EVERY // PROCESSES:  # staggered across workers
        argv = ["--store", url, "comment", ref, "--text", mark, "--as", f"cli{worker}"]
        argv += ["--command-id", key] if key else []
        done = subprocess.run(
            [*CLI, *argv], cwd=ROOT, capture_output=True, text=True, check=False, timeout=HANG
        )
        if done.returncode != 0:
            raise RuntimeError(f"deskledger exited {done.returncode}: {done.stderr.strip()}")
        return
    name, fields = [
        ("comment", {"ref": ref, "text": mark, "visibility": "internal"}),
        ("assign", {"ref": ref, "assignee": mark}),
        ("escalate", {"ref": ref, "hierarchical": True, "to": mark}),
    ][number % 3]
    desk.execute(name, fields, actor=f"w{worker}", command_id=key)


def worker_main(url: str, worker: int, start: Any, results: Any) -> None:
    """One writer process: open the store when every writer is ready, then run COMMANDS
    plain commands; report every failure (an exception leaves nothing unreported)."""
    failures: list[str] = []
    try:
        start.wait(timeout=HANG)
        desk = open_desk(url)
        try:
            for number in range(COMMANDS):
                try:
                    one_command(desk, url, worker, number)
                except Exception as error:  # noqa: BLE001 - each failure is the test's finding
                    failures.append(f"{marker(worker, number)}: {type(error).__name__}: {error}")
        finally:
            desk.close()
    except BaseException as error:  # noqa: BLE001 - reported to the test, which fails on it
        failures.append(f"worker {worker}: {type(error).__name__}: {error}")
    results.put((worker, failures))


def run_workers(url: str, during: Callable[[], None]) -> list[str]:
    """Start PROCESSES writers at once; call ``during`` until they end; their failures."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=worker_main, args=(url, worker, start, results))
        for worker in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    reports: dict[int, list[str]] = {}
    deadline = time.monotonic() + HANG
    try:
        while len(reports) < PROCESSES and time.monotonic() < deadline:
            during()
            try:
                worker, failures = results.get(timeout=0.2)
            except Empty:
                if not any(p.is_alive() for p in processes) and results.empty():
                    break
                continue
            reports[worker] = failures
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    missing = [
        f"worker {w}: no report (crashed or hung)" for w in range(PROCESSES) if w not in reports
    ]
    return missing + [failure for w in sorted(reports) for failure in reports[w]]


def check_busy_store(url: str, before: int) -> None:
    """Every command's one event is in the log exactly once, the log verifies, and the
    views, kept up to date while the writers ran, equal a rebuild."""
    desk, queries = open_read_side(url)
    try:
        events = [logged.event for logged in desk.read_log()]
        new = events[before:]
        written = Counter(
            getattr(e, "text", None) or getattr(e, "assignee", None) or getattr(e, "to", None)
            for e in new
        )
        expected = Counter(marker(w, n) for w in range(PROCESSES) for n in range(COMMANDS))
        keys = Counter(e.command_id for e in new if e.command_id is not None)
        given = Counter(
            command_id(w, n) for w in range(PROCESSES) for n in range(COMMANDS) if n % 2 == 0
        )
        report = desk.verify()

        assert before + PROCESSES * COMMANDS == len(events)
        assert expected == written
        assert given == keys
        assert (True, []) == (report.ok, [str(p) for p in report.problems])

        views = queries.views
        assert isinstance(views, DeskViews)
        views.catch_up()
        followed = dump(views)
        views.rebuild()
        assert dump(views) == followed
    finally:
        desk.close()


def _followed_views(url: str) -> tuple[Desk, DeskViews]:
    desk = open_desk(url)
    return desk, open_views(desk)


def test_eight_sqlite_processes_on_five_tickets_lose_and_double_nothing(sqlite_url: str) -> None:
    """8 processes x 200 plain commands (comment, assign, escalate; every 50th a `deskledger`
    process; every other with a command id) on 5 shared tickets of one SQLite file, while this
    process keeps the views caught up: every command succeeds, each leaves exactly one
    event, each command id appears once, verify is OK and the views equal a rebuild."""
    busy_round(sqlite_url)


@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_eight_postgres_processes_on_five_tickets_lose_and_double_nothing(
    postgres_url: str,
) -> None:
    """The same on one PostgreSQL schema."""
    busy_round(postgres_url)


def busy_round(url: str) -> None:
    """The busy tickets opened, the workers run while this process follows the log, then
    nothing lost, nothing doubled, nothing failed."""
    setup = open_desk(url)
    before = open_busy_tickets(setup)
    setup.close()
    reader, views = _followed_views(url)
    try:
        failures = run_workers(url, views.catch_up)
    finally:
        reader.close()

    assert [] == failures
    check_busy_store(url, before)


def test_a_plain_command_from_a_lagging_clock_happens_after_the_last_event(
    sqlite_url: str,
) -> None:
    """Two writers whose clocks disagree: a command without an explicit time from the one
    whose clock is behind happens at the ticket's last event (it was refused as "before
    the last event"); an explicit earlier time is still refused."""
    ahead = open_desk(sqlite_url, clock=SimulatedClock(START + timedelta(seconds=5)))
    behind = open_desk(sqlite_url, clock=SimulatedClock(START))
    try:
        ahead.execute(
            "open",
            {"ref": "INC1", "title": "t", "caller": "c", "impact": 3, "urgency": 3},
            actor="a",
        )
        behind.execute("comment", {"ref": "INC1", "text": "late clock"}, actor="b")
        with pytest.raises(CommandValidationError, match="before the ticket's last event"):
            behind.execute("comment", {"ref": "INC1", "text": "explicit"}, actor="b", at=START)

        times = [e.occurred_at for e in behind.ticket_events("INC1")]
        assert [START + timedelta(seconds=5)] * 2 == times
    finally:
        ahead.close()
        behind.close()


# ------------------------------------------------------------- followers killed mid-way


@contextmanager
def follower(url: str) -> Iterator[subprocess.Popen[str]]:
    """`deskledger projections run` on ``url``, once it says it is following the log."""
    env = {**os.environ, "DESKLEDGER_STORE": url, "DESKLEDGER_LOG_LEVEL": "INFO"}
    env.pop("DESKLEDGER_LOG_FILE", None)
    process = subprocess.Popen(
        [*CLI, "projections", "run"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        wait_for_log(process.stderr, "projections.following")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def wait_for_log(stream: IO[str], event: str) -> list[dict[str, Any]]:
    """Read JSON log lines until one is ``event``; return them."""
    seen: list[dict[str, Any]] = []
    for line in stream:
        record = json.loads(line)
        seen.append(record)
        if record.get("event") == event:
            return seen
    raise AssertionError(f"the follower ended before logging {event}: {seen}")


def write_comments(desk: Desk, first: int, count: int) -> None:
    for number in range(first, first + count):
        ref = REFS[number % len(REFS)]
        desk.execute("comment", {"ref": ref, "text": f"c{number}"}, actor="writer")


def wait_until_followed(views: DeskViews, head: int) -> None:
    """Until every view's position is ``head`` (the followers' work: nothing here applies
    events); the deadline only keeps a hang from blocking the suite."""
    deadline = time.monotonic() + HANG
    while min(views.positions().values()) < head:
        assert time.monotonic() < deadline, f"views stuck at {views.positions()}, head {head}"
        time.sleep(0.2)


@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_two_followers_one_killed_mid_way_leave_views_equal_to_a_rebuild(
    postgres_url: str,
) -> None:
    """Two `projections run` processes follow one schema while commands are written; one is
    killed -9 in the middle. The other carries on: the views reach the log's head and equal
    a rebuild from scratch — no event applied twice, none skipped — and it stops cleanly
    on SIGTERM."""
    desk = open_desk(postgres_url)
    try:
        open_busy_tickets(desk)
        views = open_views(desk)
        views.ensure()
        with follower(postgres_url) as doomed, follower(postgres_url) as survivor:
            write_comments(desk, 0, 150)
            doomed.send_signal(signal.SIGKILL)
            write_comments(desk, 150, 150)
            head = desk.recorder.max_notification_id() or 0
            wait_until_followed(views, head)
            survivor.send_signal(signal.SIGTERM)
            assert survivor.stderr is not None
            stopped = wait_for_log(survivor.stderr, "projections.stopped")
            assert 0 == survivor.wait(timeout=60)
        assert -signal.SIGKILL == doomed.returncode
        assert [] == [r for r in stopped if r.get("level") in {"error", "critical"}]

        followed = dump(views)
        views.rebuild()
        assert dump(views) == followed
        assert {"tickets": head, "audit": head} == views.positions()
    finally:
        desk.close()
