"""Bad input, typed by a hostile but fair tester: every command ends with a SPEC §9 exit code
and, when it fails, one line on stderr (one JSON object with ``--json``) and never a traceback;
a rejected command writes nothing, and the store still verifies.

1. One regression test per failure our testers reported that no other file pins (markup and
   control characters in errors, reserved refs, reused command ids, binary files, huge
   durations, instants near year 9999, bad store URLs, unusable SQLite files, export targets,
   bad PostgreSQL databases, users and schemas, CSV line numbers, scenario steps).
2. A corpus of those inputs (argv lists, policy and scenario files, CSV rows), each run through
   :func:`adapters.cli.main` and checked the same way; a few through ``python -m adapters.cli``.
3. Hypothesis: random argv built from the real parser's commands and options with hostile
   values, random policy files, scenario files and CSV exports.

A command that fails after reporting on stdout (``verify`` finding a problem, a scenario
expectation that failed, an import's rows that could not be applied) writes at most one line
on stderr. "internal error" (exit 1 for a bug of ours) never appears.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from adapters.bootstrap import open_desk
from adapters.cli import main
from adapters.cli.parser import build_parser
from engine.commands import COMMANDS
from engine.errors import CommandValidationError
from engine.sla import TIMER_FIELDS
from engine.views import VIEW_FIELDS, ticket_view
from tests.conftest import run_rejected

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "adapters.cli"]
AT = "2026-03-02T09:00:00+00:00"
EXIT_CODES = {0, 1, 2, 3}

POLICY = {
    "lifecycle": {"auto_close_after": "5d"},
    "calendars": {
        "office": {
            "timezone": "Europe/Berlin",
            "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-24"],
        }
    },
    "slas": [
        {
            "name": "P1 resolution",
            "kind": "resolution",
            "applies_to": {"priority": [1]},
            "target": "4h",
            "pause_on": ["awaiting_caller"],
        },
        {"name": "response", "kind": "response", "target": "30m", "calendar": "office"},
    ],
}
CSV_HEADER = (
    "number,incident_state,sys_mod_count,opened_at,sys_updated_at,impact,urgency,priority,"
    "assignment_group,assigned_to,reassignment_count,reopen_count,made_sla"
)
CSV_ROWS = [
    (
        "INC0000001,New,0,29/2/2016 01:16,29/2/2016 01:16,2 - Medium,2 - Medium,3 - Moderate,"
        "?,?,0,0,true"
    ),
    (
        "INC0000001,Active,1,29/2/2016 01:16,29/2/2016 02:00,2 - Medium,2 - Medium,3 - Moderate,"
        "Group 1,Resolver 1,0,0,true"
    ),
]
SCENARIO = f"""
start: {AT}
steps:
  - {{at: +0m, as: noc, do: open, with: {{ref: SC1, title: t, caller: c, impact: 1, urgency: 1}}}}
  - {{at: +5m, as: bob, do: assign, with: {{ref: SC1, group: net, assignee: bob}}}}
expect:
  - {{ticket: SC1, state: in_progress}}
"""


# ------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Outcome:
    """What one command did: its exit code and what it printed."""

    code: int
    out: str
    err: str


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    """``deskledger ARGV`` in this process."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def wants_json(argv: Sequence[str]) -> bool:
    """Whether ``argv`` asks for JSON (after ``--``, "--json" is a value)."""
    return "--json" in (argv[: list(argv).index("--")] if "--" in argv else argv)


def assert_clean_exit(outcome: Outcome, *, as_json: bool) -> None:
    """A §9 exit code; on failure one line (or one JSON error object) on stderr naming no
    bug of ours; never a traceback."""
    assert outcome.code in EXIT_CODES, outcome
    assert "Traceback" not in outcome.err
    assert "internal error" not in outcome.err, outcome.err
    if outcome.code == 0:
        return
    if outcome.out:
        # The command reported what it found on stdout (verify, scenario expectations, an
        # import's failed rows); stderr holds at most a line (the error, or a log record).
        assert outcome.err.count("\n") <= 1, outcome.err
        return
    assert outcome.err.endswith("\n"), outcome.err
    assert 1 == outcome.err.count("\n"), outcome.err
    if as_json:
        error = json.loads(outcome.err)["error"]
        assert outcome.code == error["exit_code"]
        assert {"type", "message", "exit_code"} <= set(error)
    else:
        assert outcome.err.startswith("deskledger: error: "), outcome.err


@dataclass(frozen=True)
class Fingerprint:
    """How many events a store holds and its chain head; verify must be OK."""

    events: int
    head: str


def fingerprint(url: str) -> Fingerprint:
    desk = open_desk(url)
    try:
        report = desk.verify()
    finally:
        desk.close()
    assert [] == [str(problem) for problem in report.problems]
    return Fingerprint(report.events, report.head)


def copy_store(template: Path, directory: Path) -> str:
    """A store of its own: a copy of the seeded one."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "store.db"
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return f"sqlite:///{target}"


def check_command(
    argv: Sequence[str], url: str, capsys: pytest.CaptureFixture[str]
) -> tuple[Outcome, Fingerprint]:
    """Run ``argv`` (which names ``url`` as its store): a clean exit, and nothing written
    when it was refused (exit 2 or 3). Returns the outcome and the store's fingerprint."""
    before = fingerprint(url)
    outcome = run_cli(argv, capsys)
    assert_clean_exit(outcome, as_json=wants_json(argv))
    after = fingerprint(url)
    if outcome.code in {2, 3}:
        assert before == after, f"{argv!r} was refused with {outcome.code} but wrote events"
    return outcome, after


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _no_settings_from_outside(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test gives counts: no DESKLEDGER_* variable, files land in tmp_path."""
    for name in list(os.environ):
        if name.startswith("DESKLEDGER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store with a policy and tickets in every kind of state (a template: tests
    work on copies)."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    desk = open_desk(f"sqlite:///{path}")
    try:
        desk.load_policy(POLICY, actor="admin", at=parse(AT))
        opening = {"title": "Mail down", "caller": "ann", "impact": 1, "urgency": 1}
        for number in range(1, 5):
            desk.execute("open", {"ref": f"INC{number}", **opening}, actor="noc", at=parse(AT))
        later = parse("2026-03-02T09:10:00+00:00")
        desk.execute(
            "assign", {"ref": "INC2", "group": "mail", "assignee": "bob"}, actor="a", at=later
        )
        resolution = {"code": "fixed", "notes": "restarted"}
        for ref in ("INC3", "INC4"):
            desk.execute("resolve", {"ref": ref, **resolution}, actor="bob", at=later)
        desk.execute("close", {"ref": "INC4"}, actor="bob", at=later)
    finally:
        desk.close()
    return path


@pytest.fixture
def store(seeded: Path, tmp_path: Path) -> str:
    """A copy of the seeded store."""
    return copy_store(seeded, tmp_path / "store")


def parse(text: str) -> Any:
    from datetime import datetime  # noqa: PLC0415

    return datetime.fromisoformat(text)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Input files, good and hostile, by name."""
    folder = tmp_path / "files"
    folder.mkdir()
    made = {
        "policy": yaml.safe_dump(POLICY),
        "binary": b"\xff\xfe\x00\x01binary\x80",
        "not-yaml": "slas: [unclosed\n",
        "huge-duration": "lifecycle: {auto_close_after: 99999999999999999999d}\n",
        "scenario": SCENARIO,
        "csv": "\n".join([CSV_HEADER, *CSV_ROWS]) + "\n",
        "empty": "",
    }
    paths: dict[str, Path] = {}
    for name, content in made.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths[name] = path
    paths["missing"] = folder / "no-such-file"
    paths["folder"] = folder
    return paths


# ------------------------------------------------------------------ 4. markup, control chars


def test_an_error_line_shows_control_characters_as_escapes(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown ref with ESC, BEL and markup in it: one line where ESC and BEL are written
    as \\x1b and \\x07 and the markup is printed as typed."""
    outcome, _ = check_command(["--store", store, "show", "[/x]\x1b[31m\x07"], store, capsys)

    assert 2 == outcome.code
    assert "\x1b" not in outcome.err
    assert "\x07" not in outcome.err
    assert "ticket [/x]\\x1b[31m\\x07 not found" in outcome.err


# ------------------------------------------------------------------ 7. command ids reused


def test_reusing_a_command_id_for_other_fields_is_bad_input_naming_the_id(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same --command-id with another text: exit 2, a JSON error carrying the id; the
    same command again is a quiet no-op."""
    comment = ["--store", store, "comment", "INC1", "--text", "first", "--as", "bob"]
    keyed = [*comment, "--command-id", "k-1", "--json"]
    assert 0 == run_cli(keyed, capsys).code
    assert 0 == run_cli(keyed, capsys).code

    outcome, _ = check_command([*keyed[:5], "second", *keyed[6:]], store, capsys)

    error = json.loads(outcome.err)["error"]
    assert (2, "CommandIdReusedError", "k-1") == (outcome.code, error["type"], error["command_id"])


# ------------------------------------------------------------------ 8. reserved refs


@pytest.mark.parametrize("ref", ["policy", "POLICY", "Policy", "checkpoint", "CheckPoint"])
def test_refs_that_name_deskledgers_own_streams_are_refused(
    ref: str, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`open policy` (any letter case) and `open checkpoint`: exit 2, nothing written."""
    argv = ["--store", store, "open", ref, "--title", "t", "--caller", "c"]
    outcome, _ = check_command(
        [*argv, "--impact", "1", "--urgency", "1", "--as", "a"], store, capsys
    )

    assert 2 == outcome.code
    assert "reserved" in outcome.err


def test_the_engine_refuses_reserved_refs_before_writing(memory_desk: Any) -> None:
    """The Python API refuses them too, with CommandValidationError on ``ref``."""
    fields = {"ref": "policy", "title": "t", "caller": "c", "impact": 1, "urgency": 1}
    error = run_rejected(memory_desk, CommandValidationError, "open", fields)
    assert "ref" == error.field  # type: ignore[attr-defined]


# ------------------------------------------------------------------ 9. no traceback


def test_a_command_failing_after_report_ran_is_still_one_line(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Running `report` imported adapters.cli.report, which rebound the package's ``report``
    (the error printer): every later error ended in "TypeError: 'module' object is not
    callable" and a traceback. Now the error printer keeps its own name."""
    assert 0 == run_cli(["--store", store, "report", "--as-of", AT], capsys).code

    outcome = run_cli(["--store", store, "report", "--from", "0001-01-01"], capsys)

    assert_clean_exit(outcome, as_json=False)
    assert (2, "--from: '0001-01-01' is outside the years 1900 to 9000") == (
        outcome.code,
        outcome.err.removeprefix("deskledger: error: ").strip(),
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "check", "{binary}"],
        ["policy", "load", "{binary}"],
        ["sla", "--what-if", "{binary}"],
        ["import", "servicenow", "{csv}", "--policy", "{binary}"],
        ["import", "servicenow", "{binary}"],
        ["scenario", "run", "{binary}"],
    ],
    ids=["policy-check", "policy-load", "what-if", "import-policy", "import-csv", "scenario"],
)
def test_a_binary_file_is_named_as_not_utf8(
    argv: list[str], store: str, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes that are not UTF-8 where a policy, export or scenario is expected: exit 2 and
    one line naming the file, nothing written."""
    given = [part.format(**{k: str(v) for k, v in files.items()}) for part in argv]
    outcome, _ = check_command(["--store", store, *given], store, capsys)

    assert 2 == outcome.code
    assert str(files["binary"]) in outcome.err
    assert "UTF-8" in outcome.err or "utf-8" in outcome.err


def test_a_scenario_whose_policy_file_is_binary_is_bad_input(
    store: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`policy: binary` in a scenario: exit 2 naming the policy file (was UnicodeDecodeError)."""
    scenario = tmp_path / "uses-binary.yaml"
    scenario.write_text(f"start: {AT}\npolicy: files/binary\nsteps: []\n", encoding="utf-8")

    outcome, _ = check_command(["--store", store, "scenario", "run", str(scenario)], store, capsys)

    assert 2 == outcome.code
    assert "policy:" in outcome.err
    assert "not UTF-8" in outcome.err


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ("lifecycle: {auto_close_after: 99999999999999999999d}\n", "lifecycle.auto_close_after"),
        (
            "slas: [{name: x, kind: resolution, target: 9999999999999999999999h}]\n",
            "slas[0].target",
        ),
        ("slas: [{name: x, kind: resolution, target: 99999999999999999999999}]\n", "slas[0]"),
    ],
)
def test_a_huge_duration_in_a_policy_is_bad_input_naming_the_key(
    document: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Durations of more than a hundred years: exit 2 naming the key (was OverflowError)."""
    policy = tmp_path / "huge.yaml"
    policy.write_text(document, encoding="utf-8")

    outcome = run_cli(["policy", "check", str(policy)], capsys)

    assert_clean_exit(outcome, as_json=False)
    assert 2 == outcome.code
    assert where in outcome.err


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "INC1", "--as-of", "9999-12-31T23:59:59-14:00"],
        ["show", "INC1", "--as-of", "0001-01-01T00:00:00+14:00"],
        ["tickets", "--opened-from", "9999-12-31"],
        ["report", "--from", "0001-01-01", "--to", "9999-12-31"],
        ["sla", "INC1", "--as-of", "9999-12-31T23:59:59+00:00"],
        ["advance", "--to", "9999-12-31T23:59:59+00:00"],
        ["comment", "INC1", "--text", "x", "--as", "a", "--at", "9999-12-31T23:59:59+00:00"],
        ["comment", "INC1", "--text", "x", "--as", "a", "--at", "9999-12-31T23:59:59-14:00"],
        ["comment", "INC1", "--text", "x", "--as", "a", "--at", "0001-01-01T00:00:00+00:00"],
    ],
    ids=lambda argv: " ".join(argv[:1] + argv[-1:]),
)
def test_instants_near_the_ends_of_the_calendar_are_bad_input(
    argv: list[str], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Years 0001 and 9999 (with offsets that push past them): exit 2 "outside the years
    1900 to 9000" or "out of range", never OverflowError; nothing written."""
    outcome, _ = check_command(["--store", store, *argv], store, capsys)

    assert 2 == outcome.code
    assert "outside the years 1900 to 9000" in outcome.err or "out of range" in outcome.err


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("start: 9999-12-31T23:00:00+00:00\nsteps: []\n", "start"),
        ("start: 0001-01-01T00:00:00+00:00\nsteps: []\n", "start"),
        (f"start: {AT}\nsteps: [{{at: +99999999999999999999d, do: advance}}]\n", "steps[1].at"),
        ("start: 9000-12-31T00:00:00+00:00\nsteps: [{at: +2d, do: advance}]\n", "steps[1].at"),
        ("start: 1900-01-01T00:00:00+00:00\nsteps: [{at: -1d, do: advance}]\n", "steps[1].at"),
    ],
)
def test_scenario_instants_past_the_calendar_are_bad_input(
    body: str, where: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario starting in year 9999, or stepping past 9000 or before 1900: exit 2 naming
    the key (was OverflowError, exit 1 "internal error")."""
    scenario = tmp_path / "far.yaml"
    scenario.write_text(body, encoding="utf-8")

    outcome, _ = check_command(["--store", store, "scenario", "run", str(scenario)], store, capsys)

    assert 2 == outcome.code
    assert f"{where}: " in outcome.err
    assert any(
        reason in outcome.err
        for reason in ("outside the years 1900 to 9000", "longer than a hundred years")
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://postgres@127.0.0.1:99999/test", "port 99999"),
        ("postgresql://postgres@127.0.0.1:abc/test", "port 'abc'"),
        ("postgresql://postgres@127.0.0.1:0/test", "port 0"),
        ("postgresql://postgres@[::1/test", "Invalid IPv6 URL"),
        ("postgresql:///test", "use postgresql://user:pass@host:port/database"),
        ("mysql://localhost/db", "unknown scheme 'mysql'"),
        ("sqlite://relative.db", "use sqlite:///relative.db"),
        ("postgresql://postgres@127.0.0.1/test?shema=desk", "unknown setting 'shema'"),
        ("postgresql://postgres@127.0.0.1/test?pool_size=0", "pool_size must be a whole number"),
        ("postgresql://postgres@127.0.0.1/test?max_overflow=-1", "from 0 to 1000, got '-1'"),
        ("postgresql://postgres@127.0.0.1/test?schema=a&schema=b", "schema is given more than"),
        ("postgresql://postgres@127.0.0.1/test?schema", "must be name=value pairs"),
        (f"postgresql://postgres@127.0.0.1/test?pool_size={'9' * 5000}", "from 1 to 100"),
        ("postgresql://postgres@127.0.0.1/test?connect_timeout=0601", "from 1 to 600"),
    ],
)
def test_a_store_url_that_cannot_work_is_bad_input(
    url: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A port that is not 1..65535 (was ValueError, exit 1), a broken host, an unknown
    scheme, a PostgreSQL setting misspelt (it used to open the default schema quietly), out
    of range or given twice: exit 2 and one line naming the URL and what is wrong, without
    connecting."""
    outcome = run_cli(["--store", url, "--json", "show", "INC1"], capsys)

    assert_clean_exit(outcome, as_json=True)
    error = json.loads(outcome.err)["error"]
    assert (2, "StoreURLError") == (outcome.code, error["type"])
    assert problem in error["message"]


def _not_sqlite(path: Path) -> None:
    path.write_text("name,value\nnot,a database\n", encoding="utf-8")


def _random_bytes(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 8)


def _sqlite_header_then_garbage(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + b"\xab" * 4096)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (_not_sqlite, "is not a SQLite database"),
        (_random_bytes, "is not a SQLite database"),
        (_sqlite_header_then_garbage, "not a usable SQLite database"),
        (Path.mkdir, "is a directory, not a database file"),
    ],
    ids=["text", "random-bytes", "header-then-garbage", "directory"],
)
@pytest.mark.parametrize("command", [["tickets"], ["comment", "INC1", "--text", "x", "--as", "a"]])
def test_a_store_file_that_is_not_sqlite_is_bad_input(
    make: Callable[[Path], None],
    problem: str,
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A text file, random bytes, a SQLite header followed by garbage (was
    sqlite3.DatabaseError) or a directory as the store: exit 2 naming the store; the file
    is left as it was."""
    path = tmp_path / "store.db"
    make(path)
    before = path.read_bytes() if path.is_file() else None

    outcome = run_cli(["--store", f"sqlite:///{path}", *command], capsys)

    assert_clean_exit(outcome, as_json=False)
    assert 2 == outcome.code
    assert problem in outcome.err
    assert f"sqlite:///{path}" in outcome.err
    assert before == (path.read_bytes() if path.is_file() else None)


def _unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run so that file permissions apply: as is for a normal user; for root,
    without the capabilities that let root write read-only files."""
    if os.geteuid() != 0:
        return argv
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: read-only files are writable")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--", *argv]


def _cli_process(
    argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("read_only", ["file", "directory"])
def test_a_read_only_sqlite_store_is_unavailable_for_writes(
    read_only: str, seeded: Path, tmp_path: Path
) -> None:
    """A command on a store whose file, or whose folder (SQLite cannot create its journal),
    is read-only: exit 3 and one line (was sqlite3.OperationalError and a traceback); the
    file is unchanged."""
    url = copy_store(seeded, tmp_path / "ro")
    path = Path(url.removeprefix("sqlite:///"))
    before = path.read_bytes()
    locked = path if read_only == "file" else path.parent
    locked.chmod(0o555 if read_only == "directory" else 0o444)
    try:
        command = [*CLI, "--store", url, "comment", "INC1", "--text", "x", "--as", "a"]
        done = _cli_process(_unprivileged(command))
    finally:
        locked.chmod(0o755 if read_only == "directory" else 0o644)

    assert (3, 1) == (done.returncode, done.stderr.count("\n")), done.stderr
    assert done.stderr.startswith("deskledger: error: ")
    assert "readonly" in done.stderr or "unable to open" in done.stderr
    assert before == path.read_bytes()


@pytest.mark.parametrize(
    ("target", "problem"),
    [("missing/out.jsonl", "No such file or directory"), (".", "is a directory, not a file")],
    ids=["missing-folder", "onto-a-folder"],
)
def test_export_to_a_path_that_cannot_be_written_is_bad_input(
    target: str, problem: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`export -o` into a missing folder or onto a folder: exit 2 and one line naming the
    path (was FileNotFoundError / IsADirectoryError); nothing printed on stdout."""
    outcome, _ = check_command(["--store", store, "export", "-o", target], store, capsys)

    assert (2, "") == (outcome.code, outcome.out)
    assert f"--output {target}: {problem}" in outcome.err


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["tickets", "--priority", "99999999999999999999"], "priority"),
        (["tickets", "--priority", "0"], "priority"),
        (["tickets", "--tier", "-1"], "tier"),
        (["queue", "--tier", "4"], "tier"),
        (["tickets", "--limit", "99999999999999999999"], "limit"),
        (["queue", "--limit", "-1"], "limit"),
        (["queue", "--limit", "0"], "limit"),
    ],
)
def test_filters_outside_their_range_are_bad_input(
    argv: list[str], field: str, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A priority, tier or page size that no ticket can have or no column can hold: exit 2
    naming the filter (a huge one was OverflowError; `queue --limit -1` meant "no limit")."""
    outcome, _ = check_command(["--store", store, "--json", *argv], store, capsys)

    error = json.loads(outcome.err)["error"]
    assert (2, field) == (outcome.code, error["field"])


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "not a file name to write keys to"),
        ("x" * 300, "cannot write the keys (File name too long)"),
        ("missing/k", "directory missing does not exist"),
    ],
    ids=["empty", "too-long", "missing-folder"],
)
def test_keygen_to_a_name_no_file_can_have_is_bad_input(
    name: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`keygen --out ""` (ValueError) or a name too long (OSError) was "internal error",
    exit 1: now exit 2 naming the problem."""
    outcome = run_cli(["keygen", "--out", name], capsys)

    assert_clean_exit(outcome, as_json=False)
    assert 2 == outcome.code
    assert problem in outcome.err


def test_text_that_is_not_unicode_is_refused_before_writing(
    memory_desk: Any, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lone surrogate (YAML's "\\udc80", or a program calling the API) has no canonical
    JSON form, so storing it failed with "internal error". A command's text and a policy
    are refused up front, naming the field."""
    fields = {"ref": "INC9", "title": "bad \udc80", "caller": "c", "impact": 1, "urgency": 1}
    error = run_rejected(memory_desk, CommandValidationError, "open", fields)
    policy = tmp_path / "surrogate.yaml"
    policy.write_text('major_incidents: {declarers: ["\\uDC80"]}\n', encoding="utf-8")

    outcome, _ = check_command(["--store", store, "policy", "load", str(policy)], store, capsys)

    assert "title" == error.field  # type: ignore[attr-defined]
    assert 2 == outcome.code
    assert "major_incidents.declarers[0]: is not valid Unicode text" in outcome.err


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("sys_mod_count", "99999999999999999999", 2),
        ("reassignment_count", "99999999999999999999", 0),
    ],
)
def test_counts_json_cannot_hold_exactly_are_refused_or_kept_as_text(
    column: str,
    value: str,
    code: int,
    store: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A count over 2**53 - 1 in an export went into the import metadata as a number, which
    canonical JSON refuses: "internal error". sys_mod_count is a row error (exit 2, the
    line named); a source counter is kept as the text it was."""
    header = CSV_HEADER.split(",")
    row = dict(zip(header, CSV_ROWS[0].split(","), strict=True))
    row[column] = value
    path = _export(tmp_path, ",".join(row[c] for c in header))

    outcome, _ = check_command(
        ["--store", store, "--json", "import", "servicenow", str(path)], store, capsys
    )

    reasons = [failure["reason"] for failure in json.loads(outcome.out)["failures"]]
    assert code == outcome.code
    if code:
        assert [f"{column}: {value} is larger than 9,007,199,254,740,991"] == reasons
    else:
        assert [] == reasons


# ------------------------------------------------------------------ 10. PostgreSQL


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"database": "deskledger_no_such_db"}, 'database "deskledger_no_such_db" does not exist'),
        ({"user": "deskledger_no_such_user"}, 'role "deskledger_no_such_user" does not exist'),
    ],
    ids=["database", "user"],
)
def test_a_wrong_postgres_database_or_user_is_reported_with_the_servers_reason(
    change: dict[str, str], cause: str, postgres_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server refuses the connection: exit 3 with its reason, not only "couldn't get a
    connection after 5.00 sec"."""
    from urllib.parse import urlsplit, urlunsplit  # noqa: PLC0415

    parts = urlsplit(postgres_server)
    host = parts.netloc.rpartition("@")[2]
    user = change.get("user", parts.username or "postgres")
    database = change.get("database", parts.path.lstrip("/"))
    url = urlunsplit((parts.scheme, f"{user}@{host}", f"/{database}", "", ""))

    outcome = run_cli(["--store", url, "--json", "tickets"], capsys)

    assert_clean_exit(outcome, as_json=True)
    error = json.loads(outcome.err)["error"]
    assert (3, "StoreUnavailableError") == (outcome.code, error["type"])
    assert cause in error["message"]


# ------------------------------------------------------------------ 10. CSV line numbers


def _export(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


MULTILINE_ROW = (
    "INC0000002,New,0,29/2/2016 01:16,29/2/2016 01:16,2 - Medium,2 - Medium,3 - Moderate,"
    '"a group\nwhose name\nspans lines",?,0,0,true'
)


def test_a_bad_row_after_a_field_spanning_lines_is_reported_at_its_own_line(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Line numbers are physical lines of the file: a row after a three-line field is
    reported at the line it starts on."""
    bad_state = CSV_ROWS[0].replace("INC0000001,New", "INC0000003,Escalated")
    path = _export(tmp_path, MULTILINE_ROW, bad_state)

    outcome, _ = check_command(
        ["--store", store, "--json", "import", "servicenow", str(path)], store, capsys
    )

    report = json.loads(outcome.out)
    assert 2 == outcome.code
    assert [(5, "INC0000003")] == [(f["line"], f["number"]) for f in report["failures"]]


def test_a_field_over_the_csv_limit_is_reported_at_the_line_it_starts_on(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 200,000-character field (over the csv module's limit) after a three-line field:
    exit 2 naming line 5, where that row starts (it said 6)."""
    long_row = (
        CSV_ROWS[0].replace("INC0000001", "INC0000004").replace(",?,?,", f",{'x' * 200_000},?,")
    )
    path = _export(tmp_path, MULTILINE_ROW, long_row)

    outcome, _ = check_command(["--store", store, "import", "servicenow", str(path)], store, capsys)

    assert 2 == outcome.code
    assert f"{path}: line 5: cannot read the file (field larger than field limit" in outcome.err


# ------------------------------------------------------------------ 10. scenario steps


@pytest.mark.parametrize(
    ("step", "where"),
    [
        ("{as: a, do: frobnicate}", "steps[2].do"),
        ("{as: a, do: open, with: [1, 2]}", "steps[2].with"),
        ("{as: a, do: comment, with: {ref: SC1, text: x}, expected_version: abc}", "steps[2]"),
        ("{as: a, do: comment, with: {ref: SC1, text: x}, command_id: [1]}", "steps[2]"),
    ],
    ids=["unknown-do", "with-not-a-mapping", "version-not-a-number", "command-id-not-text"],
)
def test_a_malformed_step_is_bad_input_and_nothing_runs(
    step: str, where: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown `do` (was a failed expectation, exit 1), `with` that is not a mapping, a
    version that is not a number (was ValueError): exit 2 naming the step, and on an
    explicit store nothing is written — not the first step, not the scenario's policy."""
    first = "{as: noc, do: open, with: {ref: SC1, title: t, caller: c, impact: 1, urgency: 1}}"
    scenario = tmp_path / "bad-step.yaml"
    scenario.write_text(
        f"start: {AT}\npolicy: {{slas: []}}\nsteps:\n  - {first}\n  - {step}\n", encoding="utf-8"
    )

    outcome, _ = check_command(["--store", store, "scenario", "run", str(scenario)], store, capsys)

    assert 2 == outcome.code
    assert f"{where}" in outcome.err


@pytest.mark.parametrize(
    ("expect", "where"),
    [
        ("[{step: abc, error: X}]", "expect[0].step: 'abc' is not a step number"),
        ("[{queue: x}]", "expect[0].queue: give the refs in order, or a mapping"),
        ("[{colour: red}]", "expect[0]: unsupported expectation"),
        ("[{queue: {tier: two, refs: []}}]", "expect[0].queue.tier: 'two' is not a tier"),
        ("[{report: 3}]", "expect[0].report: give a mapping of report figures"),
        ("[3]", "expect[0]: an expectation is a mapping"),
        ("[{ticket: SC1, colour: red}]", "expect[0].colour: unknown ticket field"),
        ("[{ticket: SC1, sla: {P1: {colour: red}}}]", "expect[0].sla.P1.colour: unknown timer"),
        ("[{ticket: SC1, sla: [P1]}]", "expect[0].sla: map SLA names"),
    ],
)
def test_a_malformed_expectation_is_bad_input_before_any_step_runs(
    expect: str, where: str, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`step: abc` (was ValueError), an expectation of no known kind, a field a ticket or
    timer does not have: exit 2, and the steps before it never ran (an unknown field was
    found only after the steps had written their events)."""
    first = "{as: noc, do: open, with: {ref: SC1, title: t, caller: c, impact: 1, urgency: 1}}"
    scenario = tmp_path / "bad-expect.yaml"
    scenario.write_text(f"start: {AT}\nsteps:\n  - {first}\nexpect: {expect}\n", encoding="utf-8")

    outcome, _ = check_command(["--store", store, "scenario", "run", str(scenario)], store, capsys)

    assert 2 == outcome.code
    assert where in outcome.err


def test_scenario_run_checks_every_file_before_running_any(
    store: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scenario run GOOD BAD` on a store: exit 2 for BAD, and GOOD did not run either
    (it used to write its events first)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"start: {AT}\nsteps: [{{as: a, do: frobnicate}}]\n", encoding="utf-8")
    argv = ["--store", store, "scenario", "run", str(files["scenario"]), str(bad)]

    outcome, _ = check_command(argv, store, capsys)

    assert 2 == outcome.code
    assert f"{bad}: steps[1].do: unknown command 'frobnicate'" in outcome.err


def test_the_field_names_scenarios_check_are_the_views_keys(memory_desk: Any) -> None:
    """Scenario expectations are checked against VIEW_FIELDS and TIMER_FIELDS before
    anything runs: those are exactly the keys of a ticket's view and of a timer's."""
    policy = {"slas": [{"name": "P1", "kind": "resolution", "target": "4h"}]}
    memory_desk.load_policy(policy, actor="admin")
    fields = {"ref": "INC1", "title": "t", "caller": "c", "impact": 1, "urgency": 1}
    memory_desk.execute("open", fields, actor="noc")
    ticket = memory_desk.get_ticket("INC1")
    [timer] = memory_desk.sla_status(ticket)

    assert list(VIEW_FIELDS) == list(ticket_view(ticket, [timer]))
    assert list(TIMER_FIELDS) == list(timer.as_dict())


# =============================================================================== the corpus


@dataclass(frozen=True)
class Token:
    """Stands for a path that exists only when a test runs (``files`` / the store)."""

    name: str


def resolve(argv: Sequence[str | Token], files: dict[str, Path], store: str) -> list[str]:
    return [
        part if isinstance(part, str) else store if part.name == "store" else str(files[part.name])
        for part in argv
    ]


STORE = Token("store")
BINARY, MISSING, FOLDER = Token("binary"), Token("missing"), Token("folder")

OPENING = ["--title", "t", "--caller", "c", "--impact", "1", "--urgency", "1", "--as", "a"]
#: (argv after ``--store STORE``, the exit code it must end with)
ARGV_CORPUS: list[tuple[list[str | Token], int]] = [
    (["show", "INC1", "--as-of", "9999-12-31T23:59:59-14:00"], 2),
    (["show", "INC1", "--as-of", "0001-01-01"], 2),
    (["show", "INC1", "--as-of", "2026-02-30"], 2),
    (["show", "[/x]\x1b[2J\x07"], 2),
    (["show", "policy"], 2),
    (["show", "INC1", "--json", "--as-of", "yesterday"], 2),
    (["comment", "INC1", "--text", "[bold]x[/bold]\x1b]0;title\x07", "--as", "[/a]"], 0),
    (["comment", "INC1", "--text", "x" * 10_001, "--as", "a"], 2),
    (["comment", "INC1", "--text", "", "--as", "a"], 2),
    (["comment", "INC1", "--text", "x", "--as", ""], 2),
    (["comment", "INC1", "--text", "x", "--as", "a", "--at", "9999-12-31T23:59:59+00:00"], 2),
    (["comment", "INC1", "--text", "x", "--as", "a", "--expected-version", "-1"], 2),
    (["comment", "INC1", "--text", "x", "--as", "a", "--expected-version", "1e3"], 2),
    (["comment", "INC4", "--text", "x", "--as", "a"], 2),
    (["open", "policy", *OPENING], 2),
    (["open", "INC9", *OPENING, "--impact", "99999999999999999999"], 2),
    (["open", "INC9", *OPENING, "--urgency", "-1"], 2),
    (["open", "x" * 65, *OPENING], 2),
    (["open", "INC9", *OPENING, "--affected-users", "1e309"], 2),
    (["assign", "INC1", "--group", "g", "--no-group", "--as", "a"], 2),
    (["escalate", "INC1", "--tier", "99999999999999999999", "--group", "g", "--as", "a"], 2),
    (["reprioritize", "INC1", "--impact", "nan", "--reason", "r", "--as", "a"], 2),
    (["tickets", "--priority", "99999999999999999999"], 2),
    (["tickets", "--limit", "0"], 2),
    (["tickets", "--cursor", "\x1b[31m"], 2),
    (["tickets", "--state", "[/x]"], 0),
    (["queue", "--limit", "-1"], 2),
    (["report", "--from", "0001-01-01", "--to", "9999-12-31"], 2),
    (["report", "--from", "2026-03-02", "--to", "2026-03-01"], 2),
    (["advance", "--to", "9999-12-31T23:59:59+00:00"], 2),
    (["advance", "--to", "0001-01-01T00:00:00+00:00"], 2),
    (["sla", "--what-if", BINARY], 2),
    (["sla", "--what-if", MISSING], 2),
    (["sla", "--what-if", FOLDER], 2),
    (["policy", "check", BINARY], 2),
    (["policy", "load", BINARY], 2),
    (["policy", "load", Token("huge-duration")], 2),
    (["policy", "load", Token("not-yaml")], 2),
    (["policy", "load", FOLDER], 2),
    (["scenario", "run", BINARY], 2),
    (["scenario", "run", MISSING], 2),
    (["import", "servicenow", BINARY], 2),
    (["import", "servicenow", Token("empty")], 2),
    (["import", "servicenow", Token("csv"), "--policy", BINARY], 2),
    (["import", "servicenow", Token("csv"), "--timezone", "../../etc/passwd"], 2),
    (["export", "-o", "missing/out.jsonl"], 2),
    (["export", "-o", "."], 2),
    (["keygen", "--out", "missing/k"], 2),
    (["checkpoint", "--out", "."], 2),
    (["checkpoint", "--sign", BINARY], 2),
    (["verify", "--checkpoint", "99999999999999999999:abc"], 2),
    (["verify", "--checkpoint", BINARY], 2),
    (["relay", "--once", "--stream", "BAD.NAME", "--nats-url", "nats://127.0.0.1:1"], 2),
    (["relay", "--once", "--stream", "", "--nats-url", "nats://127.0.0.1:1"], 2),
    (["relay", "--once", "--nats-url", "nats://127.0.0.1:99999"], 2),
    (["--log-level", "BOGUS", "tickets"], 2),
    (["--log-level", "[/x]", "tickets"], 2),
    (["frobnicate"], 2),
    (["tickets", "--json", "--bogus"], 2),
    (["comment", "INC1", "--text", "nul\x00byte", "--as", "a"], 2),
    (["comment", "INC1", "--text", "surrogate \udcff", "--as", "a"], 2),
]
#: (store URL, exit code): stores that cannot be opened, for any command.
STORE_CORPUS: list[tuple[str, int]] = [
    ("postgresql://postgres@127.0.0.1:99999/test", 2),
    ("postgresql://postgres@127.0.0.1:abc/test", 2),
    ("postgresql://postgres@[::1/test", 2),
    ("sqlite:///missing/folder/x.db", 3),
    ("sqlite:///.", 2),
    ("sqlite://", 2),
    ("bogus://", 2),
    ("\x1b[31m", 2),
]


@pytest.mark.parametrize(
    ("argv", "code"),
    ARGV_CORPUS,
    ids=[
        f"{i:02d}-{' '.join(str(a) for a in argv)[:40]}" for i, (argv, _) in enumerate(ARGV_CORPUS)
    ],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_argv_corpus(
    argv: list[str | Token],
    code: int,
    as_json: bool,
    store: str,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each hostile command line ends with its exit code, one line (or JSON object) on
    stderr, nothing written when refused, and a store that still verifies."""
    given = ["--store", store, *resolve(argv, files, store), *(["--json"] if as_json else [])]

    outcome, _ = check_command(given, store, capsys)

    assert code == outcome.code, outcome


@pytest.mark.parametrize(("url", "code"), STORE_CORPUS)
@pytest.mark.parametrize("command", [["tickets"], ["comment", "INC1", "--text", "x", "--as", "a"]])
def test_store_corpus(
    url: str, code: int, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Store URLs that cannot work: exit 2 (bad input) or 3 (unavailable), one line."""
    for as_json in (False, True):
        outcome = run_cli(["--store", url, *command, *(["--json"] if as_json else [])], capsys)

        assert_clean_exit(outcome, as_json=as_json)
        assert code == outcome.code, outcome


POLICY_CORPUS: list[bytes] = [
    b"\xff\xfe\x00binary",
    b"\x00" * 64,
    b"slas: [unclosed",
    b"- a list\n- not a mapping\n",
    b"42\n",
    b"bogus: 1\n",
    b"lifecycle: {auto_close_after: 99999999999999999999d}\n",
    b"lifecycle: {auto_close_after: -5}\n",
    b"lifecycle: {auto_close_after: .inf}\n",
    b"slas: [{name: x, kind: resolution, target: 0s}]\n",
    b"slas: [{name: x, kind: resolution, target: 99999999999999999999999}]\n",
    b"slas: [{name: x, kind: resolution, target: 4h, calendar: office}]\n",
    b"slas: [{name: x, kind: resolution, target: 4h, warn_at: [0, 100, -1]}]\n",
    b"slas: [{name: x, kind: resolution, target: 4h}, {name: x, kind: response, target: 1h}]\n",
    b"priority_matrix: {1: {1: 99999999999999999999}}\n",
    b"priority_matrix: {9: {1: 1}}\n",
    b"calendars: {c: {timezone: Mars/Base, hours: always}}\n",
    b"calendars: {c: {timezone: ../../etc/passwd, hours: always}}\n",
    b"calendars: {c: {timezone: UTC, hours: {mon: ['25:00-26:00']}}}\n",
    b"calendars: {c: {timezone: UTC, hours: {mon: ['17:00-09:00']}}}\n",
    b"calendars: {c: {timezone: UTC, hours: always, holidays: ['9999-12-31', '0001-01-01']}}\n",
    b"calendars: {c: {timezone: UTC, hours: always, holidays: [{country: XX}]}}\n",
    b"limits: {title: 0}\n",
    b"limits: {title: 99999999999999999999}\n",
    b"limits: {bogus: 5}\n",
    b'major_incidents: {declarers: [[/x], "\\e[31m"]}\n',
    'slas: [{name: "[/x]\x1b[31m\u202e", kind: resolution, target: 4h}]\n'.encode(),
]


@pytest.mark.parametrize("content", POLICY_CORPUS, ids=lambda c: repr(c[:30]))
def test_policy_corpus(
    content: bytes, store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`policy check` and `policy load` of each file: 0 or 2 with one line, the same verdict
    from both, and a refused load writes nothing."""
    path = tmp_path / "policy.yaml"
    path.write_bytes(content)

    checked = run_cli(["policy", "check", str(path)], capsys)
    loaded, _ = check_command(["--store", store, "policy", "load", str(path)], store, capsys)

    assert_clean_exit(checked, as_json=False)
    assert checked.code in {0, 2}
    assert checked.code == loaded.code


SCENARIO_CORPUS: list[bytes] = [
    b"\xff\xfe\x00binary",
    b"[1, 2]\n",
    b"start: 2026-03-02T09:00:00+00:00\n",
    f"start: {AT}\nsteps: [{{as: a, do: frobnicate}}]\n".encode(),
    f"start: {AT}\nsteps: [{{as: a, do: open, with: oops}}]\n".encode(),
    f"start: {AT}\nsteps: [{{at: +99999999999999999999d, do: advance}}]\n".encode(),
    f"start: {AT}\nsteps: [{{at: '9999-12-31T23:59:59-14:00', do: advance}}]\n".encode(),
    b"start: 9999-12-31T23:59:59+00:00\nsteps: [{at: +1m, do: advance}]\n",
    b"start: 0001-01-01T00:00:00+00:00\nsteps: [{at: -1m, do: advance}]\n",
    f"start: {AT}\npolicy: binary\nsteps: []\n".encode(),
    f"start: {AT}\npolicy: no-such-policy.yaml\nsteps: []\n".encode(),
    f'start: {AT}\npolicy: "nul\\0byte"\nsteps: []\n'.encode(),
    f"start: {AT}\npolicy: {{slas: 5}}\nsteps: []\n".encode(),
    f"start: {AT}\nsteps: [{{do: comment, with: {{ref: X}}, expected_version: abc}}]\n".encode(),
    f"start: {AT}\nsteps: []\nexpect: [{{step: abc}}]\n".encode(),
    f"start: {AT}\nsteps: []\nexpect: [{{ticket: X, bogus: 1}}]\n".encode(),
    f"start: {AT}\nsteps: []\nexpect: [{{ticket: X, as_of: never}}]\n".encode(),
    (
        f'start: {AT}\nsteps: [{{as: a, do: open, with: {{ref: X, title: "[/t]\x1b", '
        "caller: c, impact: 1, urgency: 1}}]\nexpect: [{ticket: X, state: closed}]\n"
    ).encode(),
]


@pytest.mark.parametrize("content", SCENARIO_CORPUS, ids=lambda c: repr(c[:40]))
def test_scenario_corpus(
    content: bytes,
    store: str,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`scenario run` of each file, on the default in-memory store and on a real one: a
    clean exit, the same code on both, and nothing written to the real one when refused."""
    path = files["folder"] / "scenario-under-test.yaml"
    path.write_bytes(content)

    in_memory = run_cli(["scenario", "run", str(path)], capsys)
    on_store, _ = check_command(["--store", store, "scenario", "run", str(path)], store, capsys)

    assert_clean_exit(in_memory, as_json=False)
    assert in_memory.code == on_store.code


def _row(**changes: str) -> str:
    values = dict(zip(CSV_HEADER.split(","), next(csv.reader([CSV_ROWS[0]])), strict=True))
    values.update(changes)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values.values())
    return buffer.getvalue()


CSV_CORPUS: list[list[str]] = [
    [_row(number="policy")],
    [_row(number="[/x]\x1b[31m")],
    [_row(number="")],
    [_row(incident_state="Escalated")],
    [_row(opened_at="31-12-9999 23:59", sys_updated_at="31-12-9999 23:59")],
    [_row(opened_at="01-01-0001 00:00", sys_updated_at="01-01-0001 00:00")],
    [_row(sys_updated_at="30-02-2016 01:16")],
    [_row(sys_updated_at="29/2/2016 25:61")],
    [_row(impact="9 - Cosmic")],
    [_row(impact="?")],
    [_row(sys_mod_count="-1")],
    [_row(sys_mod_count="99999999999999999999999")],
    [_row(reassignment_count="99999999999999999999", reopen_count="²")],
    [_row(assignment_group="x" * 1_000)],
    [_row(assignment_group="x" * 200_000)],
    [_row(made_sla="maybe")],
    [_row(), "INC0000001,Active"],
    [
        _row(),
        _row(incident_state="Closed", sys_mod_count="1"),
        _row(incident_state="New", sys_mod_count="2"),
    ],
    ['"unterminated,quote'],
]


@pytest.mark.parametrize("rows", CSV_CORPUS, ids=lambda rows: repr(rows[-1][:40]))
def test_csv_corpus(
    rows: list[str], store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An export with each hostile row: 0 or 2, every failure on stdout with its line, and
    a refused import writes nothing."""
    path = tmp_path / "export.csv"
    path.write_text("\n".join([CSV_HEADER, *rows]) + "\n", encoding="utf-8")

    outcome, _ = check_command(
        ["--store", store, "--json", "import", "servicenow", str(path)], store, capsys
    )

    assert outcome.code in {0, 2}
    if outcome.out:
        report = json.loads(outcome.out)
        assert (outcome.code == 0) == (report["failures"] == [])
        assert all(2 <= failure["line"] <= 1 + len(rows) for failure in report["failures"])


#: Commands run as a real process: bytes, so that arguments can be invalid UTF-8.
PROCESS_CORPUS: list[tuple[list[bytes | Token], int]] = [
    ([b"comment", b"INC1", b"--text", b"bad \xff\xfe utf-8", b"--as", b"a"], 2),
    ([b"show", b"\xc3\x28"], 2),
    ([b"policy", b"load", BINARY], 2),
    ([b"scenario", b"run", BINARY], 2),
    ([b"report", b"--from", b"0001-01-01"], 2),
    ([b"relay", b"--once", b"--stream", b"BAD.NAME", b"--nats-url", b"nats://127.0.0.1:1"], 2),
    ([b"--log-level", b"BOGUS", b"tickets"], 2),
    ([b"export", b"-o", b"missing/out.jsonl"], 2),
]


@pytest.mark.parametrize(
    ("argv", "code"),
    PROCESS_CORPUS,
    ids=[b" ".join(a[:2]).decode("utf-8", "replace") for a, _ in PROCESS_CORPUS],  # type: ignore[misc]
)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_process_corpus(
    argv: list[bytes | Token],
    code: int,
    as_json: bool,
    store: str,
    files: dict[str, Path],
    tmp_path: Path,
) -> None:
    """`python -m adapters.cli ...`: the exit code, one line on stderr, no traceback."""
    given = [part if isinstance(part, bytes) else str(files[part.name]).encode() for part in argv]
    command = [*(a.encode() for a in CLI), b"--store", store.encode(), *given]
    before = fingerprint(store)

    done = subprocess.run(
        [*command, *([b"--json"] if as_json else [])],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    err = done.stderr.decode("utf-8")
    assert (code, 1) == (done.returncode, err.count("\n")), err
    assert "Traceback" not in err
    if as_json:
        assert code == json.loads(err)["error"]["exit_code"]
    else:
        assert err.startswith("deskledger: error: ")
    assert before == fingerprint(store)


# =============================================================================== fuzzing

#: The fixed profile of every test below (each sets its own example count).
FUZZ = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Values a hostile tester types: empty, huge, control characters, markup, bidi overrides,
#: bytes that are not UTF-8 (as Python receives them: surrogate escapes), far years, numbers
#: that fit nothing, names DeskLedger reserves.
HOSTILE = (
    st.sampled_from(
        [
            "",
            " ",
            "x" * 100_000,
            "\x1b[31mred\x1b[0m",
            "bell\x07",
            "[/x]",
            "[bold red]b[/bold red]",
            "tab\tnew\nline\r",
            "\u202eevil",
            "ä€😀",
            "-1",
            "0",
            "99999999999999999999",
            "-99999999999999999999",
            "1e309",
            "nan",
            "policy",
            "checkpoint",
            "POLICY",
            "a" * 65,
            "0001-01-01",
            "9999-12-31",
            "0001-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59-14:00",
            "2026-02-30",
            "2026-03-02T09:00",
            "now",
            "--",
            "-",
            "%s%n",
            "{}",
            "null",
            "true",
        ]
    )
    | st.binary(min_size=1, max_size=8).map(lambda b: b.decode("utf-8", "surrogateescape"))
    | st.text(max_size=12)
)
PLAUSIBLE_INSTANT = st.sampled_from(
    ["2026-03-02T10:00:00+00:00", "2026-03-03", "2026-03-02T11:00:00+01:00", "2026-12-31T23:59Z"]
)
PLAUSIBLE: dict[str, st.SearchStrategy[str]] = {
    "ref": st.sampled_from(["INC1", "INC2", "INC3", "INC4", "NEW1"]),
    "child": st.sampled_from(["INC1", "INC2", "NEW1"]),
    "impact": st.sampled_from(["1", "2", "3"]),
    "urgency": st.sampled_from(["1", "2", "3"]),
    "tier": st.sampled_from(["1", "2", "3"]),
    "priority": st.sampled_from(["1", "3", "5"]),
    "limit": st.sampled_from(["1", "2", "50"]),
    "expected_version": st.sampled_from(["1", "2", "3"]),
    "affected_users": st.sampled_from(["1", "250"]),
    "kind": st.sampled_from(["incident", "service_request"]),
    "channel": st.sampled_from(["phone", "email", "portal"]),
    "visibility": st.sampled_from(["internal", "customer"]),
    "reason": st.sampled_from(["awaiting_vendor", "awaiting_caller", "duplicate"]),
    "state": st.sampled_from(["new", "in_progress", "resolved"]),
    "timezone": st.sampled_from(["UTC", "Europe/Berlin"]),
    "actor": st.sampled_from(["agent", "bob"]),
}
INSTANT_DESTS = {"at", "as_of", "to", "period_from", "period_to", "opened_from", "opened_to"}
#: Options whose value is a file the command reads.
READ_DESTS = {"file", "files", "what_if", "policy", "sign", "checkpoint", "key"}
#: Options whose value is a file the command writes: never an absolute path or a way out of
#: the test's folder, so a fuzzed `export -o` cannot overwrite anything outside it.
WRITE_DESTS = {"output", "out"}
SAFE_NAME = st.text(
    st.characters(blacklist_characters="/\\\x00", blacklist_categories=("Cs",)), max_size=12
) | st.sampled_from(["x" * 300, "out", "missing/out"])
FILE_TOKENS = st.sampled_from(
    [
        Token(name)
        for name in (
            "policy",
            "binary",
            "not-yaml",
            "huge-duration",
            "scenario",
            "csv",
            "empty",
            "missing",
            "folder",
        )
    ]
)
#: Commands left out of fuzzing, and why.
UNFUZZED = {
    "demo": "starts a NATS server and writes its own store",
    "relay": "connects to NATS (its bad input is in the corpus)",
    "projections": "`run` follows the log until stopped",
}
UNFUZZED_OPTIONS = {"--against-nats", "--nats-url"}  # they connect to NATS


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {name: sub for name, sub in action.choices.items() if name not in UNFUZZED}
    raise AssertionError("the parser has no subcommands")


SUBCOMMANDS = _subcommands()
#: Options a command needs to succeed (the engine's required fields, and who does it).
NEEDED = {
    name.replace("_", "-"): {
        "actor",
        *(field for field, info in model.model_fields.items() if info.is_required()),
    }
    for name, model in COMMANDS.items()
}


def _plausible(action: argparse.Action) -> st.SearchStrategy[str | Token]:
    """A value ``action`` accepts (or a file the command may fail to use)."""
    dest = action.dest
    if action.choices:
        return st.sampled_from(list(action.choices))
    if dest in INSTANT_DESTS:
        return PLAUSIBLE_INSTANT
    if dest in READ_DESTS:
        return FILE_TOKENS
    if dest in WRITE_DESTS:
        return SAFE_NAME
    return PLAUSIBLE.get(dest, st.sampled_from(["x", "Mail down", "network"]))


def _hostile(action: argparse.Action) -> st.SearchStrategy[str | Token]:
    # Written files get names that cannot leave the test's folder.
    return SAFE_NAME if action.dest in WRITE_DESTS else HOSTILE


def _chance(draw: st.DrawFn, one_in: int, label: str) -> bool:
    """True about once in ``one_in`` draws (sampled_from draws evenly; integers do not)."""
    return draw(st.sampled_from(range(one_in)), label=label) == 0


@st.composite
def command_lines(draw: st.DrawFn) -> list[str | Token]:
    """``--store S [--log-level L] COMMAND ARGS... [--json]`` from the real parser: every
    value plausible, or one of them hostile, or any of them hostile."""
    name = draw(st.sampled_from(sorted(SUBCOMMANDS)), label="command")
    actions = [
        a
        for a in SUBCOMMANDS[name]._actions
        if not isinstance(a, argparse._HelpAction)
        and a.dest != "json"
        and not set(a.option_strings) & UNFUZZED_OPTIONS
    ]
    slots: list[tuple[str | None, argparse.Action]] = []  # (flag or None, action)
    for action in (a for a in actions if not a.option_strings):
        count = {"?": draw(st.sampled_from([0, 1])), "+": draw(st.sampled_from([1, 2]))}
        slots += [(None, action)] * count.get(str(action.nargs), 1)
    options = [a for a in actions if a.option_strings]
    chosen = [
        a
        for a in options
        if a.dest in NEEDED.get(name, ()) and not _chance(draw, 10, f"omit {a.dest}")
    ]
    chosen += draw(st.lists(st.sampled_from(options), unique=True, max_size=3)) if options else []
    for action in dict.fromkeys(chosen):
        slots.append((draw(st.sampled_from(action.option_strings)), action))
    mode = draw(st.sampled_from(["plausible", "one hostile", "any hostile"]), label="mode")
    valued = [i for i, (_, action) in enumerate(slots) if action.nargs != 0]
    hostile = set()
    if mode == "one hostile" and valued:
        hostile = {draw(st.sampled_from(valued), label="hostile slot")}
    elif mode == "any hostile":
        hostile = {i for i in valued if draw(st.booleans(), label=f"hostile {i}")}
    argv: list[str | Token] = [name]
    for index, (flag, action) in enumerate(slots):
        argv += [flag] if flag is not None else []
        if action.nargs != 0:
            strategy = _hostile(action) if index in hostile else _plausible(action)
            argv.append(draw(strategy))
    store = (
        draw(st.sampled_from([u for u, _ in STORE_CORPUS]))
        if _chance(draw, 10, "bad store")
        else STORE
    )
    prefix: list[str | Token] = ["--store", store]
    if _chance(draw, 10, "log level"):
        prefix += ["--log-level", draw(st.sampled_from(["error", "BOGUS", "[/x]", ""]) | HOSTILE)]
    if draw(st.booleans(), label="--json"):
        argv.append("--json")
    return prefix + argv


@settings(FUZZ, max_examples=150)
@given(argv=command_lines())
def test_random_command_lines_end_cleanly(
    argv: list[str | Token],
    seeded: Path,
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Any command line built from the parser, with hostile values anywhere: a clean exit,
    nothing written when refused, and a store that still verifies."""
    store = copy_store(seeded, tmp_path / "fuzz")
    given = resolve(argv, files, store)

    outcome, _ = check_command(given, store, capsys)

    command = next(a for a in argv[2:] if isinstance(a, str) and a in SUBCOMMANDS)
    event(f"{command}: exit {outcome.code}")


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**25), 10**25),
    st.floats(allow_nan=True, allow_infinity=True),
    HOSTILE,
    st.lists(st.integers(-3, 9), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-3, 9), max_size=2),
)
BAD_DURATIONS = st.sampled_from(
    ["0s", "-1h", "99999999999999999999d", "36600d", "1x", "", "4H", "1h1h"]
) | st.integers(-(10**22), 10**22)
BAD_INSTANTS = st.sampled_from(
    [
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59-14:00",
        "+99999999999999999999d",
        "-1m",
        "2026-02-30T00:00:00+00:00",
        "soon",
    ]
)


class Maybe:
    """Draws good values; in a "dirty" document, now and then a hostile one instead."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.dirty = draw(st.booleans(), label="dirty")

    def __call__(self, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = JUNK) -> Any:
        if self.dirty and self.draw(st.sampled_from(range(5)), label="hostile?") == 0:
            return self.draw(bad)
        return self.draw(good)

    def some(self) -> bool:
        return bool(self.draw(st.booleans()))


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    """Policy documents: sound ones, and ones with hostile values here and there."""
    maybe = Maybe(draw)
    document: dict[str, Any] = {}
    if maybe.some():
        rows = st.dictionaries(st.integers(0, 4), st.integers(-1, 10**20))
        document["priority_matrix"] = maybe(
            st.just({i: {u: min(5, i + u - 1) for u in (1, 2, 3)} for i in (1, 2, 3)}),
            st.dictionaries(st.integers(0, 4), rows) | JUNK,
        )
    if maybe.some():
        document["lifecycle"] = {
            "auto_close_after": maybe(st.sampled_from(["5d", "90s"]), BAD_DURATIONS)
        }
    calendars = ["24x7"]
    if maybe.some():
        calendars.append("office")
        zones = st.sampled_from(["UTC", "Europe/Berlin"])
        bad_zones = st.sampled_from(["Mars/Base", "", "../../etc"]) | JUNK
        hours = st.sampled_from(["always", {"mon": ["09:00-17:00", "18:00-24:00"]}])
        bad_hours = st.sampled_from([{"mon": ["25:00-26:00"]}, {"xyz": []}]) | JUNK
        days = st.lists(st.sampled_from(["2026-12-24", {"country": "DE"}]), max_size=2)
        bad_day = st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", {"country": "XX"}])
        document["calendars"] = {
            "office": {
                "timezone": maybe(zones, bad_zones),
                "hours": maybe(hours, bad_hours),
                "holidays": maybe(days, st.lists(bad_day | JUNK, max_size=2)),
            }
        }
    if maybe.some():
        document["slas"] = [
            {
                "name": maybe(st.just(name), HOSTILE),
                "kind": maybe(st.sampled_from(["response", "resolution"])),
                "target": maybe(st.sampled_from(["4h", "30m", 600]), BAD_DURATIONS),
                "calendar": maybe(st.sampled_from(calendars), st.just("nope")),
                "applies_to": {
                    "priority": maybe(st.lists(st.integers(1, 5), min_size=1, max_size=2))
                },
                "pause_on": maybe(st.sampled_from([[], ["awaiting_caller"]]), st.just(["nope"])),
                "warn_at": maybe(st.just([50, 75]), st.lists(st.integers(-5, 200), max_size=3)),
            }
            for name in draw(st.sampled_from([["P1"], ["P1", "response"], ["P1", "P1"]]))
        ]
    if maybe.some():
        document["limits"] = {"title": maybe(st.sampled_from([100, 500]), st.integers(-5, 10**12))}
    if maybe.some():
        document["major_incidents"] = {
            "declarers": maybe(st.just(["bob"]), st.lists(HOSTILE, max_size=2))
        }
    if maybe.dirty and maybe.some():
        document["bogus"] = draw(JUNK)
    return document


def _yaml(document: object) -> bytes:
    return yaml.safe_dump(document, allow_unicode=True).encode("utf-8", "surrogateescape")


POLICY_FILES = st.one_of(
    policies().map(_yaml),
    policies().map(_yaml),
    st.binary(max_size=40),
    st.text(max_size=40).map(str.encode),
)


@settings(FUZZ, max_examples=50)
@given(content=POLICY_FILES)
def test_random_policy_files_are_loaded_or_refused_cleanly(
    content: bytes, seeded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any policy document: `policy check` and `policy load` agree on 0 or 2, with one line
    and nothing written when refused."""
    store = copy_store(seeded, tmp_path / "policy-fuzz")
    path = tmp_path / "policy.yaml"
    path.write_bytes(content)

    checked = run_cli(["policy", "check", str(path)], capsys)
    loaded, _ = check_command(["--store", store, "policy", "load", str(path)], store, capsys)

    assert_clean_exit(checked, as_json=False)
    assert checked.code in {0, 2}
    assert checked.code == loaded.code
    event(f"exit {checked.code}")


def _fields(maybe: Maybe, action: str, ref: str) -> dict[str, Any]:
    """Plausible fields of ``action`` on ``ref``."""
    text = maybe(st.just("x"), HOSTILE)
    impact = maybe(st.sampled_from([1, 3]))
    visibility = maybe(st.sampled_from(["internal", "customer"]))
    reason = maybe(st.sampled_from(["awaiting_vendor", "awaiting_caller"]))
    return {
        "open": {"ref": ref, "title": text, "caller": "c", "impact": impact, "urgency": 1},
        "comment": {"ref": ref, "text": text, "visibility": visibility},
        "assign": {"ref": ref, "group": text, "assignee": "bob"},
        "hold": {"ref": ref, "reason": reason, "comment": text},
        "resume": {"ref": ref},
        "resolve": {"ref": ref, "code": "fixed", "notes": text},
        "reopen": {"ref": ref, "reason": text},
        "load_policy": {"policy": maybe(policies(), st.sampled_from(["binary", "missing.yaml"]))},
        "advance": {},
    }[action]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Scenario documents: a ticket history with expectations, sound or with hostile values."""
    maybe = Maybe(draw)
    actions = ["comment", "assign", "hold", "resume", "resolve", "reopen", "advance", "load_policy"]
    steps = [{"at": "+0m", "as": "noc", "do": "open", "with": _fields(maybe, "open", "SC1")}]
    for minutes in range(5, 5 + 10 * draw(st.integers(0, 5)), 10):
        action = draw(st.sampled_from(actions))
        ref = draw(st.sampled_from(["SC1", "SC1", "SC2"]))
        step: dict[str, Any] = {
            "at": maybe(st.just(f"+{minutes}m"), BAD_INSTANTS),
            "as": maybe(st.sampled_from(["noc", "bob"])),
            "do": maybe(st.just(action), st.sampled_from(["frobnicate", "open-ticket"]) | JUNK),
        }
        if action != "advance":
            step["with"] = maybe(st.just(_fields(maybe, action, ref)))
        if maybe.some():
            step["command_id"] = maybe(st.sampled_from(["k1", "k2"]))
        if maybe.some():
            step["expected_version"] = maybe(st.integers(0, 4))
        steps.append(step)
    expectations = [
        {"ticket": maybe(st.just("SC1")), "state": maybe(st.sampled_from(["new", "in_progress"]))},
        {"step": maybe(st.integers(1, len(steps)), JUNK), "error": "InvalidTransitionError"},
    ]
    if maybe.some():
        expectations.append(
            {
                "ticket": "SC1",
                "sla": {"P1": {maybe(st.just("stage"), st.just("bogus")): "breached"}},
            }
        )
    if maybe.some():
        expectations[0]["as_of"] = maybe(st.just("2026-03-02T10:00:00+00:00"), BAD_INSTANTS)
    document: dict[str, Any] = {
        "start": maybe(st.just(AT), BAD_INSTANTS),
        "steps": steps,
        "expect": maybe(st.just(expectations), JUNK),
    }
    if maybe.some():
        document["policy"] = maybe(policies(), st.sampled_from(["binary", "missing.yaml"]) | JUNK)
    if maybe.dirty and maybe.some():
        document["bogus"] = draw(JUNK)
    return document


SCENARIO_FILES = st.one_of(scenarios().map(_yaml), scenarios().map(_yaml), st.binary(max_size=40))


@settings(FUZZ, max_examples=80)
@given(content=SCENARIO_FILES)
def test_random_scenario_files_run_or_are_refused_cleanly(
    content: bytes,
    seeded: Path,
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Any scenario file: 0 (all expectations hold), 1 (some do not) or 2 (the file is bad,
    and then nothing is written to an explicit store)."""
    store = copy_store(seeded, tmp_path / "scenario-fuzz")
    path = files["folder"] / "fuzzed-scenario.yaml"
    path.write_bytes(content)

    outcome, _ = check_command(["--store", store, "scenario", "run", str(path)], store, capsys)

    assert outcome.code in {0, 1, 2}
    event(f"exit {outcome.code}")


CSV_COLUMNS = CSV_HEADER.split(",")
BAD_CELLS: dict[str, st.SearchStrategy[str]] = {
    "number": st.sampled_from(["policy", "", "?", "1NC", "INC" + "9" * 70]),
    "incident_state": st.sampled_from(["Escalated", "", "closed ", "RESOLVED"]),
    "sys_mod_count": st.sampled_from(["-1", "x", "99999999999999999999999", "²", "1.5"]),
    "opened_at": st.sampled_from(["31-12-9999 23:59", "01-01-0001 00:00", "30-02-2016 01:16", "x"]),
    "sys_updated_at": st.sampled_from(["31-12-9999 23:59", "29/2/2016 25:61", "2016-02-29T01:16"]),
    "impact": st.sampled_from(["9 - Cosmic", "?", "High", "0 - None"]),
    "urgency": st.sampled_from(["4 - Low", "", "٣ - x"]),
    "made_sla": st.sampled_from(["maybe", "TRUE", "1"]),
}
STATES = ["New", "Active", "Awaiting User Info", "Awaiting Vendor", "Resolved", "Closed"]


@st.composite
def exports(draw: st.DrawFn) -> str:
    """A ServiceNow export: a few incidents' updates in order, some cells hostile."""
    maybe = Maybe(draw)
    lines = [CSV_HEADER]
    for mod in range(draw(st.integers(1, 6))):
        number = f"INC000000{draw(st.sampled_from([1, 1, 2]))}"
        hour = 1 + mod
        cells = {
            "number": number,
            "incident_state": draw(st.sampled_from(STATES)),
            "sys_mod_count": str(mod),
            "opened_at": "29/2/2016 01:16",
            "sys_updated_at": f"29/2/2016 {hour:02d}:30",
            "impact": draw(st.sampled_from(["1 - High", "2 - Medium", "3 - Low"])),
            "urgency": "2 - Medium",
            "priority": "3 - Moderate",
            "assignment_group": draw(st.sampled_from(["?", "Group 1", "Group 2"])),
            "assigned_to": draw(st.sampled_from(["?", "Resolver 1"])),
            "reassignment_count": "0",
            "reopen_count": "0",
            "made_sla": "true",
        }
        for column in CSV_COLUMNS:
            cells[column] = maybe(st.just(cells[column]), BAD_CELLS.get(column, HOSTILE))
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow([cells[c] for c in CSV_COLUMNS])
        row = buffer.getvalue()
        if maybe.dirty and draw(st.sampled_from(range(8))) == 0:
            row = draw(st.sampled_from([row[: len(row) // 2], row + ",extra", '"' + row]))
        lines.append(row)
    return "\n".join(lines) + "\n"


@settings(FUZZ, max_examples=50)
@given(export=exports())
def test_random_exports_import_or_are_refused_cleanly(
    export: str, seeded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any export: 0, or 2 with every failed row on stdout with its line, and then nothing
    written."""
    store = copy_store(seeded, tmp_path / "csv-fuzz")
    path = tmp_path / "export.csv"
    path.write_text(export, encoding="utf-8", errors="surrogateescape")

    outcome, _ = check_command(
        ["--store", store, "--json", "import", "servicenow", str(path)], store, capsys
    )

    assert outcome.code in {0, 2}
    event(f"exit {outcome.code}")
