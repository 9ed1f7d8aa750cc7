"""Stores written before hash format 2 (DeskLedger 0.1) are read, verified and extended.

tests/data/format1/store.db was written by DeskLedger 0.1 (see its README): format-1 hashes,
events under their old topics (``engine.events:...``), ``SlaTimerCancelled`` under its old
spelling. The current code must verify it with the head 0.1 printed, export it as lines an
outsider can verify, answer reads from it, and append format-2 events to the same chains.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from engine.application import Desk
from engine.chain import LedgerEvent
from engine.envelope import Envelope, envelope_of, event_classes, event_from_envelope
from engine.log import export_lines
from projections.queries import Queries
from projections.views import open_views
from tests.conftest import FORMAT_1_HEAD

TOOL = Path(__file__).resolve().parent.parent / "tools" / "verify_export.py"


def _verify_export(
    lines: list[dict[str, object]], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", str(TOOL), str(export)], capture_output=True, text=True, check=False
    )


def test_verify_gives_the_head_the_old_version_printed(
    format1_url: str, open_store: Callable[[str], Desk]
) -> None:
    """Every format-1 hash recomputes; the log's head is the one 0.1 printed."""
    report = open_store(format1_url).verify()
    assert (report.ok, report.head, report.events) == (True, FORMAT_1_HEAD, 28)


def test_export_lines_verify_without_deskledger(
    format1_url: str, open_store: Callable[[str], Desk], tmp_path: Path
) -> None:
    """The export of an old store is format 1, carries originator_topic on each stream's
    first event, keeps the old type names, and the standalone verifier passes it."""
    lines = list(export_lines(open_store(format1_url).recorder, open_store(format1_url).mapper))
    assert {1} == {line["format"] for line in lines}
    assert sum("originator_topic" in line for line in lines) == 3
    assert sum(line["type"] == "SlaTimerCancelled" for line in lines) == 2
    run = _verify_export(lines, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"chain head {FORMAT_1_HEAD}" in run.stdout


def test_domain_and_stored_paths_give_the_same_lines(
    format1_url: str, open_store: Callable[[str], Desk]
) -> None:
    """An event's envelope built from the domain object equals the line read from its
    stored record, for old events and for new ones; and the envelope turns back into an
    event with the same envelope."""
    desk = open_store(format1_url)
    desk.execute("comment", {"ref": "INC1001", "text": "after the upgrade"}, actor="bob")
    classes = event_classes(LedgerEvent)
    stored = list(export_lines(desk.recorder, desk.mapper))
    logged = list(desk.read_log())
    assert [line["format"] for line in stored] == [1] * 28 + [2]
    for line, entry in zip(stored, logged, strict=True):
        built = envelope_of(entry.event, entry.position)
        assert line == built.as_dict()
        again = event_from_envelope(Envelope.from_dict(line), classes)
        assert line == envelope_of(again, entry.position).as_dict()


def test_new_events_chain_on_in_format_2(
    format1_url: str, open_store: Callable[[str], Desk], tmp_path: Path
) -> None:
    """A command on an old ticket writes a format-2 event linked to the last format-1 hash:
    verify and the standalone verifier accept the mixed chain."""
    desk = open_store(format1_url)
    result = desk.execute("reopen", {"ref": "INC1001", "reason": "still flaky"}, actor="alice")
    assert "Reopened" in result.events
    lines = list(export_lines(desk.recorder, desk.mapper))
    mine = [line for line in lines if line["ticket"] == "INC1001"]
    assert (mine[-len(result.events) - 1]["format"], mine[-1]["format"]) == (1, 2)
    assert mine[-len(result.events)]["prev_hash"] == mine[-len(result.events) - 1]["hash"]
    assert desk.verify().ok
    run = _verify_export(lines, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr


def test_views_read_an_old_store(format1_url: str, open_store: Callable[[str], Desk]) -> None:
    """The views build from old events: the major incident, its child and the canceled
    re-targeted timers read as they were."""
    queries = Queries(open_views(open_store(format1_url)))
    major = queries.ticket("INC1001")
    assert (major["major"], major["state"], major["children"]) == (True, "resolved", ["INC1002"])
    timers = {t["name"]: t["stage"] for t in queries.sla("INC1002")}
    assert timers == {"P1 resolution": "canceled", "P3 resolution": "achieved"}
