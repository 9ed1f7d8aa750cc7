"""tools/verify_export.py, the standalone verifier auditors run on an export.

Each test writes a synthetic export (format-2 lines made with engine.hashformat, or format-1
lines of events the real engine wrote), tampers with it the way someone with access to the
file or the store could, and runs the tool as a subprocess: a copy of it, in a temporary
folder, with ``python -I -S`` (no site-packages, no project on the path), which also proves
that it needs nothing but the standard library.
"""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import ast
import contextlib
import copy
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.application import Desk
from engine.hashformat import GENESIS, chain_step, line_hash
from tests.test_hashformat import v1_lines

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "verify_export.py"
START = datetime(2026, 3, 2, 8, 55, tzinfo=UTC)

#: (ticket, type, data) in log order: four streams interleaved, the policy registry first.
HISTORY: list[tuple[str, str, dict[str, Any]]] = [
    ("policy", "PolicyRegistryStarted", {"version": 1, "document": {"slas": []}, "digest": "d1"}),
    ("INC0001", "TicketOpened", {"title": "Printer jam", "impact": 2, "urgency": 2}),
    ("INC0002", "TicketOpened", {"title": "VPN down: Zoë's laptop", "impact": 1, "urgency": 1}),
    ("INC0001", "Assigned", {"assignment_group": "network", "assignee": "bob"}),
    ("INC0003", "TicketOpened", {"title": "Mail bounce", "impact": 3, "urgency": 3}),
    ("INC0001", "WorkStarted", {}),
    ("INC0002", "CommentAdded", {"text": "rebooted\nstill down", "visibility": "internal"}),
    ("INC0001", "PutOnHold", {"hold_reason": "awaiting_vendor"}),
    ("INC0003", "Assigned", {"assignment_group": "mail", "assignee": None}),
    ("INC0002", "Resolved", {"code": "fixed", "notes": "new token"}),
    ("INC0001", "Resumed", {}),
    ("INC0003", "WorkStarted", {}),
    ("INC0001", "Resolved", {"code": "fixed", "notes": "vendor patch"}),
    ("INC0002", "Closed", {}),
    ("INC0003", "Resolved", {"code": "fixed", "notes": "DNS"}),
    ("INC0001", "Closed", {}),
]  # fmt: skip


def build(history: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Format-2 lines for ``history``: positions 1.., versions and prev_hash per ticket."""
    lines: list[dict[str, Any]] = []
    for position, (ticket, kind, data) in enumerate(history, 1):
        line = {
            "format": 2, "position": position, "ticket": ticket, "type": kind, "version": 0,
            "occurred_at": (START + timedelta(minutes=5 * position)).isoformat(),
            "recorded_at": (START + timedelta(minutes=5 * position, seconds=1)).isoformat(),
            "actor": "agent", "reason": None, "command_id": None, "data": copy.deepcopy(data),
            "source": None,
            "prev_hash": GENESIS, "hash": "", "stream_id": str(uuid5(NAMESPACE_URL, ticket)),
        }  # fmt: skip
        lines.append(line)
    return relink(lines)


def relink(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recompute versions, prev_hash and hash of every line, as a forger with write access
    would after changing something: every per-ticket chain then checks out again."""
    tips: dict[str, tuple[int, str]] = {}
    for line in lines:
        version, tip = tips.get(line["stream_id"], (0, GENESIS))
        line["version"], line["prev_hash"] = version + 1, tip
        line["hash"] = line_hash(line)
        tips[line["stream_id"]] = (version + 1, line["hash"])
    return lines


def head_of(lines: list[dict[str, Any]], upto: int | None = None) -> str:
    """``<position>:<head>`` of the global chain over ``lines`` (up to a position)."""
    head, last = GENESIS, 0
    for line in lines:
        if upto is None or line["position"] <= upto:
            head, last = chain_step(head, line["position"], line["hash"]), line["position"]
    return f"{last}:{head}"


def at(lines: list[dict[str, Any]], ticket: str, version: int) -> int:
    """The index of a ticket's event in ``lines``."""
    return next(i for i, x in enumerate(lines) if x["ticket"] == ticket and x["version"] == version)


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def findings(self) -> list[str]:
        """Lines naming a problem: ``<kind>: ticket <T> position <P> ...`` or malformed."""
        kinds = ("altered", "missing", "inserted", "reordered", "malformed")
        return [line for line in self.out.splitlines() if line.startswith(kinds)]

    def found(self) -> list[tuple[str, str, int]]:
        """(kind, ticket, position) of each finding about an event."""
        pattern = re.compile(r"(\w+): ticket (\S+) position (\d+) ")
        return [(m[1], m[2], int(m[3])) for line in self.findings if (m := pattern.match(line))]


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    """A copy of the tool away from the project (it must not need DeskLedger)."""
    target = tmp_path / "auditor" / "verify_export.py"
    target.parent.mkdir()
    shutil.copy(TOOL, target)
    return target


@pytest.fixture
def verify(tool: Path, tmp_path: Path) -> Any:
    """verify(lines or raw text, *args) -> Run: write the export, run the tool on it."""

    def _verify(lines: list[dict[str, Any]] | str, *args: str) -> Run:
        export = tmp_path / "audit.jsonl"
        if isinstance(lines, str):
            export.write_text(lines, encoding="utf-8")
        else:
            text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
            export.write_text(text, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(tool), str(export), *args],
            capture_output=True,
            text=True,
            cwd=tool.parent,
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return _verify


# --- a clean export ------------------------------------------------------------------------


def test_clean_export_passes_and_prints_the_global_head(verify: Any) -> None:
    """Every hash and link holds: exit 0, no findings, the head over all lines printed as
    ``<position>:<head>``, and a summary of lines and streams."""
    lines = build(HISTORY)
    run = verify(lines)
    assert (0, []) == (run.code, run.findings)
    assert f"chain head {head_of(lines)}" in run.out.splitlines()
    assert "OK: 16 lines in 4 streams" == run.out.splitlines()[-1]


def test_the_tool_imports_only_the_standard_library() -> None:
    """The verifier is standalone: every import is a standard-library module."""
    tree = ast.parse(TOOL.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert set() == {name for name in imported if name not in sys.stdlib_module_names}


def test_key_order_and_escaping_of_a_line_do_not_matter(verify: Any) -> None:
    """A line re-serialized (keys reversed, ASCII escapes, spaces) still verifies: the hash is
    over the canonical form of the parsed value, not over the line's text."""
    lines = build(HISTORY)
    text = "".join(
        json.dumps(dict(reversed(list(x.items()))), ensure_ascii=True, indent=None) + "\n"
        for x in lines
    )
    run = verify(text)
    assert (0, []) == (run.code, run.findings)


# --- tampering that plain verification catches --------------------------------------------


def test_an_edited_line_is_reported_altered(verify: Any) -> None:
    """Changing a value but not the hash: ``altered`` at that ticket and position only (the
    next event still links to the stored hash)."""
    lines = build(HISTORY)
    lines[at(lines, "INC0001", 3)]["data"]["assignee"] = "mallory"
    run = verify(lines)
    assert (1, [("altered", "INC0001", 6)]) == (run.code, run.found())
    assert "(the next event links to it)" in run.findings[0]


def test_an_edited_envelope_field_is_reported_altered(verify: Any) -> None:
    """The actor, the times, the ticket: every key but hash, position and version is hashed."""
    for key, value in [("actor", "mallory"), ("occurred_at", "2026-01-01T00:00:00+00:00")]:
        lines = build(HISTORY)
        lines[at(lines, "INC0002", 2)][key] = value
        assert [("altered", "INC0002", 7)] == verify(lines).found(), key


def test_a_deleted_line_is_reported_missing_before_the_next_event(verify: Any) -> None:
    """Deleting an event breaks its ticket's chain: ``missing`` at the event after the gap,
    naming the absent version."""
    lines = build(HISTORY)
    del lines[at(lines, "INC0001", 3)]  # WorkStarted, position 6
    run = verify(lines)
    assert (1, [("missing", "INC0001", 8)]) == (run.code, run.found())
    assert "version 3 is absent" in run.findings[0]


def test_deleting_a_ticket_s_first_event_is_reported(verify: Any) -> None:
    """The first remaining event does not start from the genesis hash: version 1 is missing."""
    lines = build(HISTORY)
    del lines[at(lines, "INC0003", 1)]
    run = verify(lines)
    assert [("missing", "INC0003", 9)] == run.found()
    assert "version 1 is absent" in run.findings[0]


def test_a_deletion_hidden_by_renumbering_versions_is_still_missing(verify: Any) -> None:
    """Versions are not hashed, so renumbering them after a deletion changes no hash; the
    broken link still shows, and the report says the versions run on without a gap."""
    lines = build(HISTORY)
    del lines[at(lines, "INC0001", 3)]
    for line in lines:
        if line["ticket"] == "INC0001" and line["version"] > 3:
            line["version"] -= 1
    run = verify(lines)
    assert [("missing", "INC0001", 8)] == run.found()
    assert "or versions were renumbered" in run.findings[0]


def test_a_forged_line_linked_into_a_ticket_is_reported_inserted(verify: Any) -> None:
    """A well-hashed event linked after INC0001 version 2: the genuine next event skips it,
    and the chain goes on from the genuine one, so the forged line is ``inserted``."""
    lines = build(HISTORY)
    index = at(lines, "INC0001", 2)
    forged = copy.deepcopy(lines[index])
    forged.update(type="Assigned", data={"assignment_group": "x", "assignee": "mallory"})
    forged["prev_hash"], forged["version"] = lines[index]["hash"], 3
    forged["hash"] = line_hash(forged)
    lines.insert(index + 1, forged)
    for position, line in enumerate(lines, 1):  # positions are not hashed: renumber the file
        line["position"] = position
    run = verify(lines)
    assert (1, [("inserted", "INC0001", 5)]) == (run.code, run.found())
    assert "the chain goes on from position 7" in run.findings[0]


def test_a_line_that_fails_its_hash_and_is_skipped_is_inserted(verify: Any) -> None:
    """A line made up by hand (its hash is not even right): the next event skips it."""
    lines = build(HISTORY)
    index = at(lines, "INC0002", 2)
    made_up = {**copy.deepcopy(lines[index]), "hash": "f" * 64, "position": 8}
    made_up["prev_hash"] = lines[index]["hash"]
    lines.insert(index + 1, made_up)
    for line in lines[index + 2 :]:
        line["position"] += 1
    run = verify(lines)
    assert [("inserted", "INC0002", 8)] == run.found()
    assert "does not match its hash, and the next event skips it" in run.findings[0]


def test_a_duplicated_line_is_reported_inserted(verify: Any) -> None:
    """The same line twice (a replayed copy): ``inserted``, once."""
    lines = build(HISTORY)
    index = at(lines, "INC0003", 2)
    lines.insert(index + 1, copy.deepcopy(lines[index]))
    assert [("inserted", "INC0003", 9)] == verify(lines).found()


def test_a_copy_replayed_at_a_new_position_is_reported_inserted(verify: Any) -> None:
    """A copy of a ticket's latest event stored again later: ``inserted`` at the copy."""
    lines = build(HISTORY)
    copied = copy.deepcopy(lines[at(lines, "INC0002", 4)])  # Closed, position 14
    copied["position"] = 17
    lines.append(copied)
    run = verify(lines)
    assert [("inserted", "INC0002", 17)] == run.found()
    assert "a copy of the event at position 14" in run.findings[0]


def test_two_events_of_a_ticket_swapped_are_reported_reordered(verify: Any) -> None:
    """Swapping the positions of two events of one ticket (each keeps its content, version
    and hash): the later event is stored before the one it follows: ``reordered``."""
    lines = build(HISTORY)
    first, second = at(lines, "INC0001", 3), at(lines, "INC0001", 4)  # positions 6 and 8
    lines[first]["position"], lines[second]["position"] = 8, 6
    lines.sort(key=lambda x: x["position"])
    run = verify(lines)
    assert (1, [("reordered", "INC0001", 6)]) == (run.code, run.found())
    assert "stored before the event it follows (position 8, version 3)" in run.findings[0]


def test_an_event_moved_far_later_is_reported_once_per_event_it_overtook(verify: Any) -> None:
    """INC0001 version 2 moved behind versions 3 and 4: those two were stored before their
    predecessor; no event is reported missing."""
    lines = build(HISTORY)
    moved = lines.pop(at(lines, "INC0001", 2))
    lines.insert(at(lines, "INC0001", 4) + 1, moved)
    for position, line in enumerate(lines, 1):
        line["position"] = position
    found = verify(lines).found()
    assert [("reordered", "INC0001", 5), ("reordered", "INC0001", 7)] == found


def test_lines_out_of_position_order_in_the_file_are_reported(verify: Any) -> None:
    """An export is written in position order; a line whose position goes back is
    ``reordered`` even when it belongs to another ticket."""
    lines = build(HISTORY)
    lines[2], lines[4] = lines[4], lines[2]  # INC0002 v1 (3) and INC0003 v1 (5)
    run = verify(lines)
    assert 1 == run.code
    assert ("reordered", "INC0002", 3) in run.found()


def test_malformed_lines_are_reported_by_line_number(verify: Any) -> None:
    """Lines that are no envelope — not JSON, missing keys, duplicate keys, NaN, an unknown
    format, a wrong type — are ``malformed`` with their line number and the reason."""
    lines = build(HISTORY)
    text = [json.dumps(x) for x in lines]
    text[1] = "{not json"
    text[3] = json.dumps({k: v for k, v in lines[3].items() if k != "actor"})
    text[4] = text[4][:-1] + ', "actor": "again"}'
    text[5] = text[5].replace('"data": {}', '"data": {"n": NaN}')
    text[6] = json.dumps({**lines[6], "format": 3})
    text[7] = json.dumps({**lines[7], "position": "8"})
    run = verify("\n".join(text) + "\n")
    reasons = {
        int(m[1]): m[2] for f in run.findings if (m := re.match(r"malformed: line (\d+): (.*)", f))
    }
    assert [2, 4, 5, 6, 7, 8] == sorted(reasons)
    assert "missing actor" == reasons[4]
    assert "duplicate key" in reasons[5]
    assert "NaN is not JSON" == reasons[6]
    assert "unknown hash format 3" == reasons[7]
    assert "position is not a positive integer" == reasons[8]
    assert 1 == run.code


def test_a_line_cut_off_at_the_end_is_malformed(verify: Any) -> None:
    """A half-written last line (a copy interrupted, a disk full) is reported, not skipped."""
    text = "".join(json.dumps(x) + "\n" for x in build(HISTORY))
    run = verify(text[:-40])
    assert 1 == run.code
    assert [f.split(":")[0:2] for f in run.findings] == [["malformed", " line 16"]]


def test_a_float_in_a_format_2_line_cannot_be_hashed_and_is_reported(verify: Any) -> None:
    """Format 2 content carries no floats: a line with one fails its hash (``altered``, with
    the reason), it does not crash the tool."""
    lines = build(HISTORY)
    lines[at(lines, "INC0003", 3)]["data"]["ratio"] = 0.5
    run = verify(lines)
    assert [("altered", "INC0003", 12)] == run.found()
    assert "cannot be hashed" in run.findings[0]


# --- format 1: lines of stores written before format 2 ------------------------------------


@pytest.fixture
def engine_lines(format1_url: str, open_store: Callable[[str], Desk]) -> list[dict[str, Any]]:
    """Format-1 lines of a store DeskLedger 0.1 wrote (envelope + originator_topic)."""
    return [line for line, _ in v1_lines(open_store(format1_url))]


def test_format_1_lines_written_by_the_engine_verify(
    verify: Any, engine_lines: list[dict[str, Any]]
) -> None:
    """An export of a store written before format 2 passes, with the head DeskLedger's own
    verify computes (over the same hashes)."""
    run = verify(engine_lines)
    assert (0, []) == (run.code, run.findings)
    assert f"chain head {head_of(engine_lines)}" in run.out


def test_an_edited_format_1_line_is_reported_altered(
    verify: Any, engine_lines: list[dict[str, Any]]
) -> None:
    """Format 1 covers the data and the envelope: editing the caller shows."""
    engine_lines[1]["data"]["caller"] = "someone else"
    assert [("altered", "INC1001", engine_lines[1]["position"])] == verify(engine_lines).found()


def test_a_format_1_line_smuggling_an_uncovered_key_is_reported(
    verify: Any, engine_lines: list[dict[str, Any]]
) -> None:
    """Format 1 hashes only known keys, so a line carrying another one cannot be trusted."""
    engine_lines[2]["approved_by"] = "cfo"
    run = verify(engine_lines)
    assert [("altered", "INC1001", engine_lines[2]["position"])] == run.found()
    assert "does not cover" in run.findings[0]


def test_a_stream_can_continue_in_format_2_after_format_1_events(
    verify: Any, engine_lines: list[dict[str, Any]]
) -> None:
    """After an upgrade the next event of a ticket is format 2 and links to the last
    format-1 hash: one chain across both formats."""
    last = engine_lines[-1]
    following = {**copy.deepcopy(last), "format": 2, "position": last["position"] + 1,
                 "version": last["version"] + 1, "type": "CommentAdded",
                 "data": {"text": "after the upgrade", "visibility": "internal"},
                 "prev_hash": last["hash"]}  # fmt: skip
    following["hash"] = line_hash(following)
    run = verify([*engine_lines, following])
    assert (0, []) == (run.code, run.findings)


# --- what only a checkpoint catches ----------------------------------------------------------


def test_a_checkpoint_on_the_log_is_confirmed(verify: Any) -> None:
    """A head noted earlier at position 10 is still on the log: confirmed, exit 0."""
    lines = build(HISTORY)
    noted = head_of(lines, upto=10)
    run = verify(lines, "--checkpoint", noted)
    assert 0 == run.code
    assert f"checkpoint {noted[:19]}… confirmed" in run.out.splitlines()


def test_swapping_events_of_two_tickets_passes_plain_checks_but_refutes_a_checkpoint(
    verify: Any,
) -> None:
    """Exchanging the positions of events of different tickets keeps every per-ticket chain
    valid; only the global head moves, so a head noted earlier refutes it."""
    lines = build(HISTORY)
    noted = head_of(lines)
    lines[5]["position"], lines[6]["position"] = 7, 6  # INC0001 v3 <-> INC0002 v2
    lines.sort(key=lambda x: x["position"])
    assert (0, []) == (verify(lines).code, verify(lines).findings)
    run = verify(lines, "--checkpoint", noted)
    assert 1 == run.code
    assert f"checkpoint {noted[:19]}… REFUTED: the log up to it changed" in run.out


def test_truncating_the_end_passes_plain_checks_but_not_a_later_checkpoint(verify: Any) -> None:
    """Cutting the last events off keeps every chain valid; a checkpoint beyond the new end
    is refuted (the export ends before it), one before the cut is still confirmed."""
    lines = build(HISTORY)
    late, early = head_of(lines), head_of(lines, upto=12)
    del lines[13:]
    assert (0, []) == (verify(lines).code, verify(lines).findings)
    run = verify(lines, "--checkpoint", late)
    assert 1 == run.code
    assert "REFUTED: the export ends at position 13: events were cut from the end" in run.out
    assert "confirmed" in verify(lines, "--checkpoint", early).out


def test_a_full_rehash_passes_plain_checks_and_checkpoints_narrow_it_down(
    verify: Any, tmp_path: Path
) -> None:
    """Someone with write access edits position 12 and re-hashes everything after it: plain
    verification passes. Of the statements taken at 4, 8, 12 and 16, the first two are
    confirmed, the last two refuted, and the rewrite is placed between positions 8 and 12."""
    lines = build(HISTORY)
    statements = tmp_path / "checkpoints.jsonl"
    statements.write_text(
        "".join(json.dumps(statement(lines, p)) + "\n" for p in (16, 4, 12, 8)), encoding="utf-8"
    )
    lines[11]["data"]["text"] = "rewritten"
    relink(lines)
    assert (0, []) == (verify(lines).code, verify(lines).findings)
    run = verify(lines, "--checkpoints", str(statements))
    assert 1 == run.code
    verdicts = [v.split("… ")[1][:9] for v in run.out.splitlines() if v.startswith("checkpoint")]
    assert ["confirmed", "confirmed", "REFUTED: ", "REFUTED: "] == verdicts
    assert (
        "the log was rewritten after position 8 (last confirmed checkpoint) "
        "and at or before position 12 (first refuted)"
    ) in run.out


def statement(lines: list[dict[str, Any]], position: int, **extra: Any) -> dict[str, Any]:
    """An unsigned checkpoint statement for ``position`` of ``lines``."""
    head = head_of(lines, upto=position).split(":")[1]
    return {"format": 1, "store_id": "store-1", "position": position, "head": head,
            "taken_at": "2026-03-03T00:00:00+00:00", "public_key": None,
            "signature": None, **extra}  # fmt: skip


def test_signed_statements_are_checked_for_position_and_head_and_the_signature_is_left_to_openssl(
    verify: Any, tmp_path: Path
) -> None:
    """The tool cannot check Ed25519 with the standard library: it says so and points to the
    openssl recipe, and still confirms the statement's head."""
    lines = build(HISTORY)
    statements = tmp_path / "checkpoints.jsonl"
    signed = statement(lines, 16, public_key="ab" * 32, signature="cd" * 64)
    statements.write_text(json.dumps(signed) + "\n", encoding="utf-8")
    run = verify(lines, "--checkpoints", str(statements))
    assert 0 == run.code
    assert "note: 1 checkpoint signature(s) not checked here" in run.out
    assert "confirmed" in run.out


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--checkpoint", "12"],
        ["--checkpoint", "x:" + "0" * 64],
        ["--checkpoint", "3:" + "0" * 63],
        ["--checkpoint", "3:" + "0" * 64, "--checkpoints", "file"],
        ["--checkpoints", "/nonexistent/checkpoints.jsonl"],
        ["--no-such-option"],
    ],
)
def test_malformed_arguments_exit_2(verify: Any, args: list[str]) -> None:
    """Arguments the tool cannot use are bad input: exit 2, nothing verified."""
    run = verify(build(HISTORY), *args)
    assert 2 == run.code
    assert "OK" not in run.out


def test_an_unreadable_export_exits_2(tool: Path, tmp_path: Path) -> None:
    """A file that does not exist (or is a folder) is bad input, exit 2, with the reason."""
    for path in (tmp_path / "missing.jsonl", tmp_path):
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(tool), str(path)],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert 2 == done.returncode
        assert "verify_export:" in done.stderr


def test_a_malformed_checkpoint_statement_exits_2(verify: Any, tmp_path: Path) -> None:
    """A statements file with a line that is no statement is bad input, naming the line."""
    statements = tmp_path / "checkpoints.jsonl"
    good = json.dumps(statement(build(HISTORY), 4))
    statements.write_text(good + '\n{"format": 1, "position": 3}\n', encoding="utf-8")
    run = verify(build(HISTORY), "--checkpoints", str(statements))
    assert 2 == run.code
    assert "checkpoints.jsonl line 2: not a checkpoint statement" in run.err


# --- properties: random histories, one tamper each -------------------------------------------


def load_tool() -> Any:
    """The tool as a module, to run many examples in-process (same code as the subprocess)."""
    spec = importlib.util.spec_from_file_location("verify_export", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


VERIFY_EXPORT = load_tool()

histories = st.lists(
    st.tuples(
        st.sampled_from(["INC1", "INC2", "INC3", "policy"]),
        st.sampled_from(["Assigned", "CommentAdded", "Resolved"]),
        st.dictionaries(
            st.sampled_from(["text", "group", "n"]),
            st.text(max_size=8) | st.integers(-(2**53) + 1, 2**53 - 1),
        ),
    ),
    min_size=4,
    max_size=30,
)


def run_in_process(lines: list[dict[str, Any]], folder: Path) -> tuple[int, str]:
    export = folder / "audit.jsonl"
    export.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = VERIFY_EXPORT.main([str(export)])
    return code, out.getvalue()


@settings(max_examples=60, deadline=None)
@given(history=histories)
def test_any_clean_history_verifies(history: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Whatever the interleaving of tickets and the data, an untouched export passes."""
    code, out = run_in_process(build(history), tmp_path_factory.mktemp("clean"))
    assert (0, f"OK: {len(history)} lines") == (code, out.splitlines()[-1].split(" in ")[0])


@settings(max_examples=150, deadline=None)
@given(history=histories, data=st.data())
def test_any_single_tamper_inside_a_stream_is_reported(
    history: Any, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Editing a line, deleting an event that has a successor, duplicating a line or swapping
    two events of a ticket always exits 1 with at least one finding, and never crashes."""
    lines = build(history)
    index = data.draw(st.integers(0, len(lines) - 1))
    ticket = lines[index]["ticket"]
    later = [i for i, x in enumerate(lines) if x["ticket"] == ticket and i > index]
    tamper = data.draw(st.sampled_from(["edit", "duplicate"] + (["delete", "swap"] * bool(later))))
    if tamper == "edit":
        lines[index]["actor"] = "mallory"
    elif tamper == "duplicate":
        lines.insert(index + 1, copy.deepcopy(lines[index]))
    elif tamper == "delete":
        del lines[index]
    else:
        other = data.draw(st.sampled_from(later))
        lines[index]["position"], lines[other]["position"] = (
            lines[other]["position"], lines[index]["position"])  # fmt: skip
        lines.sort(key=lambda x: x["position"])
    code, out = run_in_process(lines, tmp_path_factory.mktemp(tamper))
    assert 1 == code, (tamper, out)
    assert out.splitlines()[-1].startswith("FAILED")
