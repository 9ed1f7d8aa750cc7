"""The command line as a person runs it: commands, reads, errors and exit codes (docs/cli.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.bootstrap import open_desk
from adapters.cli import main

OPEN = [
    "open",
    "INC1",
    "--title",
    "Mail down",
    "--caller",
    "ann",
    "--impact",
    "2",
    "--urgency",
    "1",
    "--as",
    "bob",
    "--at",
    "2026-03-02T09:00:00+00:00",
]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DESKLEDGER_STORE", url)
    return url


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def _events(url: str) -> int:
    desk = open_desk(url)  # keep a reference: closing the app closes its connection pool
    try:
        return desk.recorder.max_notification_id() or 0
    finally:
        desk.close()


def test_open_assign_show_with_json_field_names(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Commands print what they recorded; show --json uses the §9 field names."""
    assert main(OPEN) == 0
    assert "INC1 v1: TicketOpened" in capsys.readouterr().out
    assert (
        main(
            [
                "assign",
                "INC1",
                "--group",
                "mail",
                "--assignee",
                "cy",
                "--as",
                "bob",
                "--at",
                "2026-03-02T09:05:00+00:00",
                "--json",
            ]
        )
        == 0
    )
    assert _json(capsys) == {
        "ref": "INC1",
        "version": 3,
        "events": ["Assigned", "WorkStarted"],
        "positions": [2, 3],
        "duplicate": False,
    }
    assert main(["show", "INC1", "--json"]) == 0
    view = _json(capsys)
    assert isinstance(view, dict)
    expected = {
        "ref": "INC1",
        "kind": "incident",
        "state": "in_progress",
        "priority": 2,
        "impact": 2,
        "urgency": 1,
        "assignment_group": "mail",
        "assignee": "cy",
        "tier": 1,
        "hold_reason": None,
        "reassignment_count": 1,
        "reopen_count": 0,
        "opened_at": "2026-03-02T09:00:00+00:00",
        "resolved_at": None,
        "closed_at": None,
        "major": False,
        "parent": None,
        "version": 3,
        "made_sla": True,
    }
    assert {k: view[k] for k in expected} == expected


def test_show_as_of_uses_only_events_up_to_that_instant(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """show --as-of T replays the ticket up to T."""
    main(OPEN)
    main(
        [
            "resolve",
            "INC1",
            "--code",
            "fixed",
            "--notes",
            "restarted",
            "--as",
            "bob",
            "--at",
            "2026-03-02T10:00:00+00:00",
        ]
    )
    capsys.readouterr()
    assert main(["show", "INC1", "--as-of", "2026-03-02T09:30:00+00:00", "--json"]) == 0
    view = _json(capsys)
    assert isinstance(view, dict)
    assert (view["state"], view["version"]) == ("new", 1)


def test_invalid_transition_exits_2_with_one_line_and_writes_nothing(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rejected command: exit 2, one error line naming ticket, state, command; no event."""
    main(OPEN)
    capsys.readouterr()
    before = _events(store)
    assert main(["close", "INC1", "--as", "bob"]) == 2
    err = capsys.readouterr().err
    assert err == "deskledger: error: ticket INC1 is new: cannot close\n"
    assert _events(store) == before


def test_json_errors_carry_the_facts(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    """With --json the error is a JSON object with type, message and the ticket facts."""
    main(OPEN)
    capsys.readouterr()
    assert main(["--json", "hold", "INC1", "--reason", "awaiting_caller", "--as", "bob"]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["type"] == "CommandValidationError"
    assert (error["field"], error["ref"], error["exit_code"]) == ("comment", "INC1", 2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ("show NOPE1", "ticket NOPE1 not found"),
        ("open INC9 --title t --caller c --impact 9 --urgency 1 --as a", "impact"),
        ("open INC9 --title t --caller c --impact 1 --urgency 1", "--as"),
        ("open INC9 --title t --caller c --impact 1 --urgency 1 --as a --at yesterday", "--at"),
        ("verify --checkpoint 12:abc", "checkpoint"),
    ],
)
def test_bad_input_exits_2_naming_what_is_wrong(
    store: str,
    capsys: pytest.CaptureFixture[str],
    argv: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bad input gets exit code 2 and an error that names the field or ticket."""
    monkeypatch.delenv("DESKLEDGER_ACTOR", raising=False)
    assert main(argv.split()) == 2
    assert message in capsys.readouterr().err
    assert _events(store) == 0


def test_idempotent_retry_with_command_id(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Re-running a command with the same --command-id writes nothing more."""
    main(OPEN)
    argv = ["comment", "INC1", "--text", "looking", "--as", "bob", "--command-id", "c-1"]
    assert main(argv) == 0
    count = _events(store)
    assert main(argv) == 0
    assert "already applied" in capsys.readouterr().out
    assert _events(store) == count


def test_expected_version_mismatch_exits_2(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--expected-version guards concurrent writers."""
    main(OPEN)
    assert main(["start", "INC1", "--as", "bob", "--expected-version", "7"]) == 2
    assert "expected version 7" in capsys.readouterr().err


def test_unreachable_store_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A store that cannot be opened is an infrastructure failure: exit 3."""
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    assert main(["--store", f"sqlite:///{missing}", "tickets"]) == 3
    assert "does not exist" in capsys.readouterr().err


def test_tickets_filters_and_audit_and_export(
    store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """tickets filters by state; audit lists a ticket's events; export writes JSON Lines."""
    main(OPEN)
    main(
        [
            "open",
            "INC2",
            "--title",
            "t",
            "--caller",
            "c",
            "--impact",
            "3",
            "--urgency",
            "3",
            "--as",
            "a",
        ]
    )
    main(["start", "INC2", "--as", "a"])
    capsys.readouterr()
    assert main(["tickets", "--state", "in_progress", "--json"]) == 0
    assert [t["ref"] for t in _json(capsys)["tickets"]] == ["INC2"]  # type: ignore[index]
    assert main(["audit", "INC2", "--json"]) == 0
    audit = _json(capsys)
    assert [(e["type"], e["version"]) for e in audit] == [  # type: ignore[union-attr]
        ("TicketOpened", 1),
        ("WorkStarted", 2),
    ]
    out = tmp_path / "log.jsonl"
    assert main(["export", "--output", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["position"] for line in lines] == [1, 2, 3]
    envelope_keys = {
        "position",
        "ticket",
        "type",
        "occurred_at",
        "recorded_at",
        "actor",
        "reason",
        "command_id",
        "prev_hash",
        "hash",
        "data",
    }
    assert envelope_keys <= set(lines[0])


def test_verify_prints_head_and_checkpoint_round_trip(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify prints the chain head; a noted head checks out later as a checkpoint."""
    main(OPEN)
    capsys.readouterr()
    assert main(["verify", "--json"]) == 0
    head = _json(capsys)["head"]  # type: ignore[index]
    main(["comment", "INC1", "--text", "later", "--as", "bob"])
    assert main(["verify", "--checkpoint", head]) == 0
    assert "verify: OK" in capsys.readouterr().out


def test_policy_check_names_the_key_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store: str
) -> None:
    """policy check rejects a bad policy with the path of the offending key."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "slas:\n  - {name: a, kind: response, target: 1h}\n  - {name: b, kind: response, "
        "target: 1h}\n  - {name: c, kind: resolution, target: 4h, calendar: office}\n"
    )
    assert main(["policy", "check", str(bad)]) == 2
    assert "slas[2].calendar: unknown calendar 'office'" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text("lifecycle: {auto_close_after: 5d}\n")
    assert main(["policy", "check", str(good)]) == 0
    assert main(["policy", "load", str(good)]) == 0
    assert "loaded as version 1" in capsys.readouterr().out


def test_console_script_runs_as_installed() -> None:
    """The installed `deskledger` entry point exits with the documented codes."""
    exe = Path(sys.executable).parent / "deskledger"
    env = {**os.environ, "DESKLEDGER_STORE": "memory://"}
    done = subprocess.run(
        [str(exe), "show", "INC404"], capture_output=True, text=True, env=env, check=False
    )
    assert (done.returncode, done.stderr) == (2, "deskledger: error: ticket INC404 not found\n")


def test_sla_and_what_if_from_the_command_line(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """sla lists timers with the §9 fields; sla --what-if reports changes and writes nothing."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "slas:\n  - {name: P2 resolution, kind: resolution, applies_to: {priority: [2]}, "
        "target: 2h}\n"
    )
    assert main(["policy", "load", str(policy), "--as", "admin"]) == 0
    main(OPEN)
    main(
        [
            "resolve",
            "INC1",
            "--code",
            "ok",
            "--notes",
            "n",
            "--as",
            "bob",
            "--at",
            "2026-03-02T10:30:00+00:00",
        ]
    )
    capsys.readouterr()
    assert main(["sla", "INC1", "--json"]) == 0
    [timer] = _json(capsys)  # type: ignore[misc]
    assert {
        k: timer[k]
        for k in (
            "name",
            "kind",
            "target_seconds",
            "elapsed_seconds",
            "due_at",
            "stage",
            "breached_at",
        )
    } == {
        "name": "P2 resolution",
        "kind": "resolution",
        "target_seconds": 7200,
        "elapsed_seconds": 5400.0,
        "due_at": None,
        "stage": "achieved",
        "breached_at": None,
    }
    tighter = tmp_path / "tight.yaml"
    tighter.write_text(
        "slas:\n  - {name: P2 resolution, kind: resolution, applies_to: {priority: [2]}, "
        "target: 1h}\n"
    )
    before = _events(store)
    assert main(["sla", "--what-if", str(tighter), "--json"]) == 0
    report = _json(capsys)
    assert report["changes"] == [  # type: ignore[index]
        {
            "ref": "INC1",
            "sla": "P2 resolution",
            "actual": "achieved",
            "what_if": "breached",
            "actual_breached_at": None,
            "what_if_breached_at": "2026-03-02T10:00:00+00:00",
        }
    ]
    assert _events(store) == before


def test_import_servicenow_from_the_command_line(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """import servicenow FILE --policy P imports once; importing again adds nothing."""
    data = Path(__file__).parent / "data" / "servicenow"
    argv = [
        "import",
        "servicenow",
        str(data / "incident_event_log_sample.csv"),
        "--policy",
        str(data / "servicenow-policy.yaml"),
        "--json",
    ]
    assert main(argv) == 0
    summary = _json(capsys)
    assert (summary["incidents"], summary["written"]) == (32, True)  # type: ignore[index]
    count = _events(store)
    assert main(argv) == 0
    capsys.readouterr()
    assert _events(store) == count
    assert main(["verify"]) == 0


def test_audit_and_export_as_of_an_instant(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    """audit/export --as-of T keep only events that occurred at or before T."""
    main(OPEN)
    main(["start", "INC1", "--as", "bob", "--at", "2026-03-02T10:00:00+00:00"])
    capsys.readouterr()
    assert main(["audit", "INC1", "--as-of", "2026-03-02T09:30:00+00:00", "--json"]) == 0
    assert [e["type"] for e in _json(capsys)] == ["TicketOpened"]  # type: ignore[union-attr]
    assert main(["export", "--as-of", "2026-03-02T09:30:00+00:00"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["TicketOpened"]
