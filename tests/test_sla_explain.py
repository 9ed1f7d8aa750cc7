"""SLA verdicts explain themselves: the periods counted add up to the elapsed time, and the
pauses, resolved intervals and calendar are named; show says when no SLA applied."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.bootstrap import open_desk
from adapters.cli import main
from engine.clock import SimulatedClock

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _bundled(url: str) -> None:
    """Scenarios 02 and 03 into one store: a P1 breached while on hold for a vendor, and a
    P3 on the Berlin office calendar held awaiting the caller over Easter."""
    files = ("02-exchange-online-outage.yaml", "03-p3-awaiting-caller-over-easter.yaml")
    assert main(["--store", url, "scenario", "run", *(str(SCENARIOS / f) for f in files)]) == 0


def test_explained_periods_add_up_to_the_elapsed_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """sla REF --explain --json: the working periods counted sum to elapsed_seconds, the
    hold is listed with its reason, the calendar is the pinned one, the business-day target
    says where it landed, and the time spent resolved is excluded."""
    url = f"sqlite:///{tmp_path / 'explain.db'}"
    _bundled(url)
    capsys.readouterr()
    code = main(["--store", url, "sla", "INC3001", "--explain", "--json", "--as-of", "2026-04-10"])
    timers = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert code == 0
    p3 = timers["P3 resolution"]
    assert sum(period["seconds"] for period in p3["working_periods"]) == p3["elapsed_seconds"]
    assert p3["elapsed_seconds"] == 12.5 * 3600
    assert [(i["start"], i["note"]) for i in p3["paused"]] == [
        ("2026-04-02T15:00:00+02:00", "awaiting_caller")
    ]
    assert p3["calendar_definition"]["timezone"] == "Europe/Berlin"
    assert p3["verdict"] == "achieved: stopped before its target"
    assert (p3["business_days"]["due"], p3["business_days"]["working_seconds"]) == (
        "2026-04-09T12:00:00+00:00",
        24 * 3600,
    )
    assert [i["start"] for i in p3["excluded_while_resolved"]] == ["2026-04-08T15:00:00+02:00"]


def test_a_breach_is_explained_with_its_instant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timer that breached says when; a vendor hold that does not pause it is not listed
    as a pause, and the periods still add up."""
    url = f"sqlite:///{tmp_path / 'explain.db'}"
    _bundled(url)
    capsys.readouterr()
    code = main(["--store", url, "sla", "INC2001", "--explain", "--json", "--as-of", "2026-03-11"])
    timers = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert code == 0
    p1 = timers["P1 resolution"]
    assert p1["verdict"] == "breached at 2026-03-10T11:40:00+00:00"
    assert p1["paused"] == []
    assert sum(period["seconds"] for period in p1["working_periods"]) == p1["elapsed_seconds"]
    assert p1["elapsed_seconds"] == 16800


@settings(max_examples=40, deadline=None)
@given(
    holds=st.lists(st.tuples(st.integers(1, 3000), st.integers(1, 3000)), max_size=4),
    at=st.integers(0, 20_000),
)
def test_counted_periods_always_sum_to_elapsed(holds: list[tuple[int, int]], at: int) -> None:
    """For random holds and instants, the explanation's periods re-add to the elapsed time of
    every timer, on an office calendar with lunch breaks and a weekend."""
    start = datetime(2026, 3, 6, 14, tzinfo=UTC)
    clock = SimulatedClock(start)
    desk = open_desk("memory://", clock=clock)
    desk.load_policy(
        {
            "calendars": {
                "office": {
                    "timezone": "Europe/Berlin",
                    "hours": {d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "fri")},
                }
            },
            "slas": [
                {"name": "fix", "kind": "resolution", "target": "6h", "calendar": "office",
                 "pause_on": ["awaiting_caller"]},
                {"name": "pick up", "kind": "response", "target": "1h", "calendar": "office"},
            ],
        },
        actor="admin",
    )  # fmt: skip
    desk.execute(
        "open", {"ref": "INC1", "title": "t", "caller": "c", "impact": 2, "urgency": 2}, actor="a"
    )
    for running, held in holds:
        clock.advance(timedelta(minutes=running))
        desk.execute(
            "hold", {"ref": "INC1", "reason": "awaiting_caller", "comment": "?"}, actor="a"
        )
        clock.advance(timedelta(minutes=held))
        desk.execute("resume", {"ref": "INC1"}, actor="a")
    moment = start + timedelta(minutes=at)
    for explained in desk.explain_sla("INC1", as_of=max(moment, clock.now())):
        counted = sum(interval.seconds for interval in explained.counted)
        assert counted == pytest.approx(explained.status.elapsed_seconds, abs=1e-6)


def test_show_says_when_no_sla_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ticket under a policy without SLAs: show --json says sla_applied false, and the text
    names the policy version under which none applied."""
    url = f"sqlite:///{tmp_path / 'none.db'}"
    opened = ["open", "INC1", "--title", "t", "--caller", "c", "--impact", "3", "--urgency", "3"]
    assert main(["--store", url, *opened, "--as", "a"]) == 0
    capsys.readouterr()
    assert main(["--store", url, "show", "INC1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["made_sla"], shown["sla_applied"], shown["policy_version"]) == (True, False, 0)
    assert main(["--store", url, "show", "INC1"]) == 0
    assert "no SLA applied (policy version 0)" in capsys.readouterr().out
