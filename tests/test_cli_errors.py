"""Every command fails the same way: one line (or one JSON object) and its documented exit code
(docs/cli.md).

Also: text a user typed is printed as text (never as rich markup, control characters made
visible), and a closed pipe is not an error.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.cli import main

CLI = [sys.executable, "-m", "adapters.cli"]
AT = "2026-03-02T09:00:00+00:00"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DESKLEDGER_STORE", url)
    return url


def _open(ref: str = "INC1", **extra: str) -> list[str]:
    command = ["open", ref, "--title", "Mail down", "--caller", "ann", "--impact", "2"]
    command += ["--urgency", "1", "--as", "bob", "--at", AT]
    for option, value in extra.items():
        command += [f"--{option}", value]
    return command


def _error(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    body = json.loads(capsys.readouterr().err)
    assert isinstance(body, dict)
    error = body["error"]
    assert isinstance(error, dict)
    return error


def test_an_argument_error_with_json_is_a_json_error(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse problems (a missing option, an unknown command) honour --json: exit 2 and
    the one error schema on stderr."""
    assert main(["advance", "--json"]) == 2
    error = _error(capsys)
    assert (error["type"], error["exit_code"]) == ("UsageError", 2)
    assert "--to" in str(error["message"])
    assert main(["frobnicate", "--json"]) == 2
    assert "frobnicate" in str(_error(capsys)["message"])


def test_a_bad_log_level_is_bad_input(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--log-level BOGUS: exit 2 and one line naming the valid levels, no traceback."""
    assert main(["--log-level", "BOGUS", "tickets"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "BOGUS" in err
    assert "WARNING" in err


def test_an_instant_may_be_a_date(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--as-of 2026-03-03 means 2026-03-03T00:00:00+00:00; a naive time is refused."""
    assert main(_open()) == 0
    capsys.readouterr()
    assert main(["show", "INC1", "--as-of", "2026-03-03", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "new"
    assert main(["show", "INC1", "--as-of", "2026-03-03T10:00"]) == 2
    assert "needs a UTC offset" in capsys.readouterr().err


def test_markup_in_user_text_is_printed_as_text(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A group called "[/g]" and a title with "[bold red]" print literally in show and
    tickets; nothing crashes with a markup error."""
    assert main(_open(group="[/g]", title="[bold red]alarm[/bold red]")) == 0
    capsys.readouterr()
    assert main(["show", "INC1"]) == 0
    out = capsys.readouterr().out
    assert "[/g]" in out
    assert "[bold red]alarm[/bold red]" in out
    assert main(["tickets"]) == 0
    assert "[/g]" in capsys.readouterr().out


def test_control_characters_are_made_visible(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """ESC and BEL in a title reach the terminal as \\x1b and \\x07, not raw."""
    assert main(_open(title="bell\x07 and \x1b[31mred")) == 0
    capsys.readouterr()
    assert main(["show", "INC1"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "bell\\x07 and \\x1b[31mred" in out


@pytest.mark.parametrize("command", [["export"], ["report"]])
def test_a_closed_pipe_ends_a_command_quietly(tmp_path: Path, command: list[str]) -> None:
    """`deskledger export | head -c100` (and a table read the same way: rich would exit 1)
    ends with exit 0 and nothing on stderr."""
    url = f"sqlite:///{tmp_path / 'pipe.db'}"
    env = {**os.environ, "DESKLEDGER_STORE": url}
    for number in range(60):
        assert main(["--store", url, *_open(f"INC{number}")]) == 0
    reading = subprocess.Popen(
        [*CLI, *command], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert reading.stdout is not None
    assert len(reading.stdout.read(100)) == 100
    reading.stdout.close()
    _, err = reading.communicate(timeout=60)
    assert (reading.returncode, err) == (0, b"")


def test_an_argument_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 in an argument: exit 2 and one line, nothing written."""
    url = f"sqlite:///{tmp_path / 'utf.db'}"
    env = {**os.environ, "DESKLEDGER_STORE": url}
    command = [arg.encode() for arg in [*CLI, *_open()]]
    command[command.index(b"Mail down")] = b"Mail \xff down"
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    assert done.returncode == 2, done.stderr
    assert b"not valid UTF-8" in done.stderr
    assert done.stderr.count(b"\n") == 1


def test_an_unreadable_event_fails_that_ticket_with_run_verify(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Garbage in one stored event: reading that ticket exits 1 with "cannot be read; run
    verify"; other tickets still read."""
    assert main(_open("INC1")) == 0
    assert main(_open("INC2")) == 0
    capsys.readouterr()
    path = store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = 1", (b"\x00garbage",))
    assert main(["show", "INC1", "--json"]) == 1
    error = _error(capsys)
    assert error["type"] == "UnreadableEventError"
    assert "run verify" in str(error["message"])
    assert main(["show", "INC2", "--json"]) == 0


def test_errors_are_reported_after_the_report_command_ran(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Importing the `report` command's module must not shadow the error reporter: a later
    failure in the same process is still one line and its exit code, not a TypeError."""
    assert main(["report"]) == 0
    capsys.readouterr()
    assert main(["show", "NOPE1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "NOPE1" in err
    assert "internal error" not in err
