"""update and the major-incident commands end to end on the command line, with a real SQLite
file: what they record shows in show, audit and the timeline; bad input exits 2 with one line
naming the field, and writes nothing."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from adapters.cli import main


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'desk.db'}"


def _count(store: str) -> int:
    with sqlite3.connect(store.removeprefix("sqlite:///")) as db:
        (count,) = db.execute("SELECT count(*) FROM stored_events").fetchone()
    db.close()
    return int(count)


def _run(store: str, *args: str, at: str | None = None) -> int:
    when = ["--at", f"2026-03-02T{at}:00+00:00"] if at else []
    return main(["--store", store, *args, "--as", "mim", *when])


def _json(capsys: pytest.CaptureFixture[str], store: str, *args: str) -> object:
    capsys.readouterr()
    assert main(["--store", store, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def major(store: str, capsys: pytest.CaptureFixture[str]) -> str:
    """INC1: a P1 incident declared major at 09:01."""
    opened = ("open", "INC1", "--title", "Core firewall down", "--caller", "noc")
    assert _run(store, *opened, "--impact", "1", "--urgency", "1", at="09:00") == 0
    assert _run(store, "declare-major", "INC1", "--reason", "all sites", at="09:01") == 0
    capsys.readouterr()
    return store


def test_update_changes_descriptive_fields_and_shows_everywhere(
    major: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """update records one TicketDetailsUpdated with the changed fields only; show has them,
    audit has the event with the values before, the timeline lists it."""
    command = ("update", "INC1", "--title", "Core firewall and VPN down", "--affected-users")
    assert _run(major, *command, "250", "--change", "CHG0042", "--affected-service", "vpn",
                "--affected-service", "firewall", at="09:05") == 0  # fmt: skip
    assert "INC1 v3: TicketDetailsUpdated\n" == capsys.readouterr().out
    shown = _json(capsys, major, "show", "INC1")
    assert isinstance(shown, dict)
    expected = {
        "title": "Core firewall and VPN down",
        "affected_users": 250,
        "change": "CHG0042",
        "affected_services": ["vpn", "firewall"],
    }
    assert expected == {key: shown[key] for key in expected}
    audit = _json(capsys, major, "audit", "INC1")
    assert isinstance(audit, list)
    assert {
        "changes": {
            "title": "Core firewall and VPN down",
            "affected_services": ["vpn", "firewall"],
            "affected_users": 250,
            "change": "CHG0042",
        },
        "previous": {
            "title": "Core firewall down",
            "affected_services": [],
            "affected_users": None,
            "change": None,
        },
    } == audit[-1]["data"]
    timeline = _json(capsys, major, "timeline", "INC1", "--format", "json")
    assert isinstance(timeline, dict)
    assert (
        "title Core firewall down → Core firewall and VPN down; affected_services — → vpn, "
        "firewall; affected_users — → 250; change — → CHG0042"
    ) == timeline["entries"][-1]["detail"]
    assert _run(major, "update", "INC1", "--no-change", at="09:06") == 0
    shown = _json(capsys, major, "show", "INC1")
    assert isinstance(shown, dict)
    assert None is shown["change"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "ticket INC1: update: give at least one field to change (title, description,"),
        (("--title", "Core firewall down"),
         "ticket INC1: update: changes nothing: the ticket already has title='Core firewall"),
        (("--title", ""), "ticket INC1: title: is required"),
        (("--affected-users", "-3"), "ticket INC1: affected_users: must not be negative"),
        (("--affected-users", "lots"),
         "ticket INC1: affected_users: Input should be a valid integer"),
        (("--change", "CHG 1"), "ticket INC1: change: invalid ref 'CHG 1'"),
        (("--affected-service", "vpn", "--no-affected-services"),
         "--affected-service and --no-affected-services contradict each other"),
        (("--owner", "bob"), "unrecognized arguments: --owner bob"),
    ],
)  # fmt: skip
def test_bad_updates_exit_2_with_one_line_naming_the_field(
    major: str, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    before = _count(major)
    assert _run(major, "update", "INC1", *args, at="09:05") == 2
    captured = capsys.readouterr()
    assert ("", 1) == (captured.out, captured.err.count("\n"))
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert before == _count(major)


def test_update_of_a_closed_ticket_is_refused(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = ("open", "INC2", "--title", "Printer", "--caller", "ann")
    assert _run(store, *opened, "--impact", "3", "--urgency", "3", at="09:00") == 0
    assert _run(store, "resolve", "INC2", "--code", "fixed", "--notes", "n", at="09:10") == 0
    assert _run(store, "close", "INC2", at="09:20") == 0
    before = _count(store)
    capsys.readouterr()
    assert _run(store, "update", "INC2", "--category", "printer", at="09:30") == 2
    err = capsys.readouterr().err
    assert "deskledger: error: ticket INC2 is closed: cannot update (closed is final)\n" == err
    assert before == _count(store)


def test_roles_impact_and_review_on_the_command_line(
    major: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """assign-roles, record-impact and review with structured action items; the timeline
    shows them and the JSON carries them."""
    assert _run(major, "assign-roles", "INC1", "--commander", "alice", "--comms-lead", "carol",
                at="09:02") == 0  # fmt: skip
    assert _run(major, "record-impact", "INC1", "--started-at", "2026-03-02T08:40:00Z",
                "--detected-at", "2026-03-02T08:52:00+00:00", at="09:03") == 0  # fmt: skip
    assert _run(major, "record-impact", "INC1", "--mitigated-at", "2026-03-02T09:30:00Z",
                at="09:31") == 0  # fmt: skip
    assert _run(major, "resolve", "INC1", "--code", "fixed", "--notes", "psu", at="10:00") == 0
    review = ("review", "INC1", "--summary", "PSU failure", "--root-cause", "one PSU")
    assert _run(major, *review, "--action", "Add PSU monitoring | owner=bob | due=2026-03-20 "
                "| link=CHG0042", "--action", "Buy a spare", "--contributing-factor",
                "no alarm", "--went-well", "runbook", "--lesson", "test alarms",
                at="11:00") == 0  # fmt: skip
    timeline = _json(capsys, major, "timeline", "INC1", "--format", "json")
    assert isinstance(timeline, dict)
    expected = {
        "commander": "alice",
        "comms_lead": "carol",
        "impact": {
            "started_at": "2026-03-02T08:40:00+00:00",
            "detected_at": "2026-03-02T08:52:00+00:00",
            "mitigated_at": "2026-03-02T09:30:00+00:00",
        },
    }
    assert expected == {key: timeline[key] for key in expected}
    assert {
        "actions": [
            {"text": "Add PSU monitoring", "owner": "bob", "due": "2026-03-20", "link": "CHG0042"},
            {"text": "Buy a spare", "owner": None, "due": None, "link": None},
        ],
        "contributing_factors": ["no alarm"],
        "went_well": ["runbook"],
        "lessons": ["test alarms"],
    } == {key: timeline["review"][key] for key in ("actions", "contributing_factors",
                                                    "went_well", "lessons")}  # fmt: skip
    capsys.readouterr()
    assert main(["--store", major, "timeline", "INC1"]) == 0
    markdown = capsys.readouterr().out.splitlines()
    assert "| Add PSU monitoring | bob | 2026-03-20 | CHG0042 |" in markdown
    assert "| time to detect | impact started → detected | 12m |" in markdown
    assert "- **Incident commander:** alice" in markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("assign-roles", "INC1", "--commander", ""),
         "ticket INC1: commander: is blank (null clears it)"),
        (("assign-roles", "INC1"), "ticket INC1: commander: give a commander and/or a comms_lead"),
        (("record-impact", "INC1", "--started-at", "2026-03-02T09:10:00Z"),
         "ticket INC1: started_at: 2026-03-02T09:10:00+00:00 is later than the command"),
        (("record-impact", "INC1", "--started-at", "2026-03-02T08:50:00Z", "--detected-at",
          "2026-03-02T08:45:00Z"),
         "ticket INC1: detected_at: 2026-03-02T08:45:00+00:00 is before started_at"),
        (("record-impact", "INC1", "--started-at", "yesterday"),
         "ticket INC1: started_at: Input should be a valid datetime"),
        (("record-impact", "INC1", "--started-at", "2026-03-02T08:50:00"),
         "ticket INC1: started_at: 2026-03-02T08:50:00 has no UTC offset"),
        (("review", "INC1", "--summary", "s", "--root-cause", "r"),
         "ticket INC1 is in_progress: cannot review"),
        (("review", "INC1", "--summary", "s", "--root-cause", "r", "--action", "x | owner"),
         "--action 'x | owner': 'owner' is not owner=NAME, due=YYYY-MM-DD or link=REF"),
        (("review", "INC1", "--summary", "s", "--root-cause", "r", "--action",
          "x | due=2026-02-30"),
         "ticket INC1: actions.0.due: Input should be a valid date"),
    ],
)  # fmt: skip
def test_bad_major_incident_commands_exit_2_writing_nothing(
    major: str, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    """Each is refused with one line naming the field (or the ticket and its state)."""
    assert _run(major, "assign", "INC1", "--assignee", "bob", at="09:02") == 0
    before = _count(major)
    capsys.readouterr()
    assert _run(major, *args, at="09:05") == 2
    captured = capsys.readouterr()
    assert ("", 1) == (captured.out, captured.err.count("\n"))
    assert message in captured.err
    assert before == _count(major)
