"""Evidence an auditor can check: signed checkpoints catch a full re-hash that plain verify
cannot, a series of them narrows it down, forged signatures are refused, and the standalone
verifier agrees with ``deskledger verify`` on every kind of tampering."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from tests.conftest import rehash_rewrite

TOOL = Path(__file__).resolve().parent.parent / "tools" / "verify_export.py"
AT = "2026-03-02T09:{:02d}:00+00:00"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite store with two tickets' histories, written through the CLI."""
    path = tmp_path / "evidence.db"
    monkeypatch.setenv("DESKLEDGER_STORE", f"sqlite:///{path}")
    return path


def _history(start: int, count: int, ref: str = "INC1") -> None:
    for minute in range(start, start + count):
        if minute == 0:
            command = ["open", ref, "--title", "Mail down", "--caller", "ann"]
            command += ["--impact", "2", "--urgency", "2"]
        else:
            command = ["comment", ref, "--text", f"note {minute}"]
        assert main([*command, "--as", "bob", "--at", AT.format(minute)]) == 0


def _edit_text(state: dict[str, Any]) -> None:
    state["text"] = "the caller agreed to close"


def test_a_rehashed_rewrite_passes_plain_verify_but_not_a_signed_checkpoint(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a full re-hash of one ticket, plain verify says OK; an earlier signed
    checkpoint is refuted, and verify exits 1 naming the checkpoint's position."""
    _history(0, 6)
    keys = tmp_path / "auditor"
    assert main(["keygen", "--out", str(keys)]) == 0
    statements = tmp_path / "checkpoints.jsonl"
    assert main(["checkpoint", "--sign", str(keys) + ".key", "--out", str(statements)]) == 0
    rehash_rewrite(store, "INC1", 3, _edit_text)
    capsys.readouterr()
    assert main(["verify"]) == 0
    code = main(["verify", "--checkpoint", str(statements), "--key", str(keys) + ".pub"])
    out = capsys.readouterr().out
    assert code == 1
    assert "checkpoint 6:" in out
    assert "REFUTED" in out


def test_a_series_of_checkpoints_narrows_the_rewrite(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checkpoints after 4, 8 and 12 events; a re-hashed edit of the event at position 6:
    the first is confirmed, the others refuted, and the change lies in positions 5..8."""
    statements = tmp_path / "checkpoints.jsonl"
    for start in (0, 4, 8):
        _history(start, 4)
        assert main(["checkpoint", "--out", str(statements)]) == 0
    rehash_rewrite(store, "INC1", 6, _edit_text)
    capsys.readouterr()
    assert main(["verify", "--checkpoint", str(statements), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(c["position"], c["confirmed"]) for c in report["checkpoints"]] == [
        (4, True),
        (8, False),
        (12, False),
    ]
    assert report["rewritten_between"] == {"after": 4, "up_to": 8}


def test_a_forged_signature_is_refused(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A statement whose head was changed after signing, or signed with another key than
    the trusted one, is refused: exit 1, and the reason named."""
    _history(0, 3)
    auditor, mallory = tmp_path / "auditor", tmp_path / "mallory"
    for prefix in (auditor, mallory):
        assert main(["keygen", "--out", str(prefix)]) == 0
    good, forged, foreign = (tmp_path / name for name in ("good", "forged", "foreign"))
    assert main(["checkpoint", "--sign", f"{auditor}.key", "--out", str(good)]) == 0
    statement = json.loads(good.read_text())
    statement["position"] = 2
    forged.write_text(json.dumps(statement) + "\n")
    assert main(["checkpoint", "--sign", f"{mallory}.key", "--out", str(foreign)]) == 0
    capsys.readouterr()
    trusted = ["--key", f"{auditor}.pub"]
    assert main(["verify", "--checkpoint", str(good), *trusted]) == 0
    assert "confirmed" in capsys.readouterr().out
    assert main(["verify", "--checkpoint", str(forged), *trusted]) == 1
    assert "signature does not verify" in capsys.readouterr().out
    assert main(["verify", "--checkpoint", str(foreign), *trusted]) == 1
    assert "another key" in capsys.readouterr().out


def test_no_checkpoint_is_stated_for_a_log_that_does_not_verify(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """checkpoint on a tampered log: exit 2, one line saying to run verify."""
    _history(0, 3)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = 2", (b"{}",))
    db.close()
    capsys.readouterr()
    assert main(["checkpoint"]) == 2
    assert "run verify" in capsys.readouterr().err


def test_no_checkpoint_is_stated_for_an_empty_log(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty log has nothing to attest: exit 2 and one line, and no file written."""
    out = store.parent / "checkpoints.jsonl"
    assert main(["checkpoint", "--out", str(out)]) == 2
    assert "the log is empty" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------------- the standalone verifier


def _delete(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM stored_events WHERE rowid = 4")


def _edit(db: sqlite3.Connection) -> None:
    (raw,) = db.execute("SELECT state FROM stored_events WHERE rowid = 5").fetchone()
    state = json.loads(raw)
    state["text"] = "changed"
    db.execute("UPDATE stored_events SET state = ? WHERE rowid = 5", (json.dumps(state).encode(),))


def _copy(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, 99, topic, state FROM stored_events WHERE rowid = 3"
    )


def _swap(db: sqlite3.Connection) -> None:
    db.execute("UPDATE stored_events SET rowid = -1 WHERE rowid = 3")
    db.execute("UPDATE stored_events SET rowid = 3 WHERE rowid = 4")
    db.execute("UPDATE stored_events SET rowid = 4 WHERE rowid = -1")


def _truncate(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM stored_events WHERE rowid = (SELECT MAX(rowid) FROM stored_events)")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (None, []),
        (_edit, ["altered"]),
        (_delete, ["missing"]),
        (_copy, ["inserted"]),
        (_swap, ["reordered"]),
        (_truncate, []),
    ],
    ids=["clean", "edited", "deleted", "inserted", "reordered", "truncated"],
)
def test_the_standalone_verifier_agrees_with_verify(
    store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Callable[[sqlite3.Connection], None] | None,
    expected: list[str],
) -> None:
    """On a clean store and after each kind of tampering, tools/verify_export.py on the
    export reports the same kinds of problem and the same chain head as deskledger verify
    (a truncated log verifies in both: only a checkpoint catches it)."""
    _history(0, 5, "INC1")
    _history(0, 3, "INC2")
    if tamper is not None:
        with sqlite3.connect(store) as db:
            tamper(db)
        db.close()
    capsys.readouterr()
    main(["verify", "--json"])
    report = json.loads(capsys.readouterr().out)
    export = tmp_path / "export.jsonl"
    assert main(["export", "-o", str(export)]) == 0
    tool = subprocess.run(
        [sys.executable, "-I", str(TOOL), str(export)], capture_output=True, text=True, check=False
    )
    found = sorted({p["kind"] for p in report["problems"]})
    assert found == expected
    assert tool.returncode == (1 if expected else 0), tool.stdout
    for kind in expected:
        assert kind in tool.stdout
    assert f"chain head {report['head']}" in tool.stdout
