"""PostgreSQL stores (issue 10): saves of any size, many processes on one schema, clear errors.

Every test here but the URL checks needs a reachable PostgreSQL (conftest: skipped without one,
failed under ``CI=true``); each gets schemas of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from eventsourcing.utils import resolve_topic
from structlog.testing import capture_logs

from adapters.bootstrap import open_desk
from adapters.cli import main
from adapters.postgres import SingleTransactionRecorder
from adapters.servicenow import import_servicenow, load_policy_file
from adapters.stores import StoreURLError, store_env
from bench.bench_import import replicate
from engine.application import Desk
from engine.clock import SimulatedClock
from engine.envelope import envelope
from engine.views import ticket_view

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "servicenow"
SIX_K = DATA / "incident_event_log_6k.csv"
POLICY = DATA / "servicenow-policy.yaml"
START = datetime(2026, 3, 2, 8, 55, tzinfo=UTC)


# --------------------------------------------------------------------------- saves of any size


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_a_unit_of_work_of_tens_of_megabytes_is_saved(
    postgres_url: str, open_store: Callable[[str], Desk]
) -> None:
    """One save of ~36 MB (3,000 tickets with 12 kB descriptions) is written, not hung.

    eventsourcing queues a save as one INSERT in psycopg's pipeline mode, which stopped
    flushing a message that large and then waited for the server's answer forever.
    """
    desk = open_store(postgres_url)
    description = "x" * 12_000
    with desk.unit_of_work():
        for number in range(3_000):
            fields = {
                "ref": f"INC{number}",
                "title": "bulk",
                "caller": "ann",
                "impact": 3,
                "urgency": 3,
                "description": description,
            }
            desk.execute("open", fields, actor="importer")
    assert desk.recorder.max_notification_id() == 3_000
    assert desk.get_ticket("INC2999").description == description


#: Summary keys that differ between any two runs (the file's path, the timings).
UNCOMPARED = frozenset({"file", "elapsed_seconds", "rows_per_second"})


def _digest(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class Imported(NamedTuple):
    """What "equal" compares between two imports of one file."""

    summary: dict[str, Any]
    export: list[str]
    tickets: dict[str, dict[str, Any]]


def _imported(url: str, path: Path) -> Imported:
    """Import ``path`` into a fresh store with simulated clocks and read it all back.

    Both clocks are simulated, so ``recorded_at`` (and so every hash) is the same whatever
    store is written and however long it takes.
    """
    desk = open_desk(url, clock=SimulatedClock(START), wall_clock=SimulatedClock(START))
    try:
        summary = import_servicenow(desk, path, policy=load_policy_file(POLICY))
        assert summary.ok, summary.failures[:3]
        assert summary.written
        return Imported(
            summary={k: v for k, v in summary.as_dict().items() if k not in UNCOMPARED},
            # every event as exported, one digest each (85k envelopes take much memory)
            export=[_digest(envelope(e.event, e.position)) for e in desk.read_log()],
            tickets={t.ref: ticket_view(t, desk.sla_status(t)) for t in desk.tickets()},
        )
    finally:
        desk.close()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_an_import_of_100k_rows_into_postgres_equals_the_sqlite_import(
    tmp_path: Path, postgres_url: str, sqlite_url: str
) -> None:
    """17 renamed copies of the 6k export (101,966 rows) import into PostgreSQL in one unit of
    work, and the result equals the SQLite import of the same file.

    "Equal": every envelope of ``export`` is identical — position, ticket, type, version,
    times, actor, data, import metadata, stream id, ``prev_hash`` and ``hash`` (nothing in an
    envelope is store-specific when both stores start empty, so nothing is left out; equal
    positions and hashes also mean equal chain heads) — and so are every ticket's §9 view
    (state, counters, priority, ``made_sla``...) and the import summary.
    """
    big = tmp_path / "incident_event_log_17x6k.csv"
    assert replicate(SIX_K, big, 17) == 101_966
    with capture_logs():
        on_sqlite = _imported(sqlite_url, big)
        on_postgres = _imported(postgres_url, big)
    assert on_sqlite.summary == on_postgres.summary
    # the import's events and the policy version it installed
    assert len(on_postgres.export) == on_sqlite.summary["event_total"] + 1
    assert on_sqlite.export == on_postgres.export
    assert on_sqlite.tickets == on_postgres.tickets


def test_postgres_stores_write_through_the_single_transaction_recorder() -> None:
    """A PostgreSQL store URL names SingleTransactionRecorder (by topic) as the recorder."""
    env = store_env("postgresql://postgres@127.0.0.1:5432/test")
    assert resolve_topic(env["APPLICATION_RECORDER_TOPIC"]) is SingleTransactionRecorder


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("port", "reason"),
    [("99999", "port 99999"), ("abc", "port 'abc'"), ("0", "port 0")],
)
def test_a_store_url_with_an_invalid_port_is_bad_input(
    port: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port that is not 1..65535 is a StoreURLError naming it, and exit 2 with one line."""
    url = f"postgresql://postgres@127.0.0.1:{port}/test"
    with pytest.raises(StoreURLError, match=reason):
        store_env(url)
    assert main(["--store", url, "show", "INC1"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("deskledger: error: store ")
    assert reason in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_password_never_appears_in_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Store errors name the URL with its password masked."""
    assert main(["--store", "postgresql://ann:s3cret@127.0.0.1:99999/test", "show", "INC1"]) == 2
    stderr = capsys.readouterr().err
    assert "s3cret" not in stderr
    assert "ann:***@127.0.0.1" in stderr
