"""The hash formats of export lines (engine.hashformat): format 1 recomputed from the lines of
events the real engine wrote, format 2 over JCS, and the global chain step."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import audit
from engine.application import Desk
from engine.canonical import canonical_json
from engine.chain import sealed
from engine.envelope import hashed_line
from engine.hashformat import GENESIS, chain_step, hashed_content, line_hash
from engine.log import export_lines
from engine.ticket.facts import CommentAdded


def v1_lines(desk: Desk) -> list[tuple[dict[str, Any], str]]:
    """(line, the hash the store holds) for every event of a store written before format 2:
    its export lines, which carry ``originator_topic`` on a stream's first event."""
    return [(line, line["hash"]) for line in export_lines(desk.recorder, desk.mapper)]


def test_format_1_recomputes_the_hash_the_engine_stored(
    format1_url: str, open_store: Callable[[str], Desk]
) -> None:
    """For every event of a store DeskLedger 0.1 wrote, line_hash over its format-1 line —
    read back from JSON text, as an auditor reads it — equals the event's stored hash."""
    lines = v1_lines(open_store(format1_url))
    assert len(lines) == 28
    assert sum("originator_topic" in line for line, _ in lines) == 3  # policy, INC1001, INC1002
    for line, stored in lines:
        assert 1 == line["format"]
        assert stored == line_hash(json.loads(json.dumps(line))), line["type"]


def test_format_1_content_is_the_stored_record_renamed(
    format1_url: str, open_store: Callable[[str], Desk]
) -> None:
    """The hashed content of a format-1 line is the stored record's own fields: the same
    values under the names they were stored under, plus the type (its class name)."""
    desk = open_store(format1_url)
    records = desk.recorder.select_notifications(0, 100)
    for record, (line, _) in zip(records, v1_lines(desk), strict=True):
        stored = json.loads(record.state)
        content = hashed_content(line)
        assert record.topic.rpartition(":")[2] == content.pop("type")
        for name, raw in stored.items():
            value = raw
            if isinstance(raw, dict) and "_type_" in raw:
                value = str(UUID(raw["_data_"])) if raw["_type_"] == "uuid_hex" else raw["_data_"]
            if name == "hash":
                continue
            assert value == content.pop(name), name
        assert content == {"originator_id": str(record.originator_id)}


def test_format_1_line_without_the_first_events_topic_does_not_verify(
    format1_url: str, open_store: Callable[[str], Desk]
) -> None:
    """``originator_topic`` is part of a first event's format-1 hash: dropping it shows."""
    line, stored = v1_lines(open_store(format1_url))[0]
    del line["originator_topic"]
    assert stored != line_hash(line)


def test_format_1_refuses_content_its_hash_cannot_cover() -> None:
    """Format 1 hashes the data members flat next to the envelope names, so a data member
    named like one (or a key outside the envelope) would go unverified: ValueError."""
    line = {"format": 1, "ticket": "T", "stream_id": "s", "recorded_at": "r", "occurred_at": "o",
            "actor": "a", "reason": None, "command_id": None, "source": None,
            "prev_hash": GENESIS, "type": "X", "position": 1, "version": 1, "hash": "",
            "data": {}}  # fmt: skip
    line_hash(line)  # well-formed
    with pytest.raises(ValueError, match=r"named like envelope fields: \['actor'\]"):
        line_hash({**line, "data": {"actor": "mallory"}})
    with pytest.raises(ValueError, match=r"does not cover: \['note'\]"):
        line_hash({**line, "note": "approved"})
    with pytest.raises(ValueError, match="lacks 'actor'"):
        line_hash({key: value for key, value in line.items() if key != "actor"})


def format_2_line() -> dict[str, Any]:
    return {
        "format": 2, "position": 7, "ticket": "INC1", "type": "Assigned", "version": 2,
        "occurred_at": "2026-03-02T09:00:00+00:00", "recorded_at": "2026-03-02T09:00:01+00:00",
        "actor": "alice", "reason": None, "command_id": None,
        "data": {"assignment_group": "network", "assignee": None, "reassigned": False},
        "source": None, "prev_hash": GENESIS, "hash": "", "stream_id": "s-1",
    }  # fmt: skip


def test_format_2_hash_is_sha256_of_jcs_without_hash_position_version() -> None:
    """The definition, spelled out: SHA-256 over JCS of the line minus the three keys."""
    line = format_2_line()
    content = {k: v for k, v in line.items() if k not in {"hash", "position", "version"}}
    assert hashlib.sha256(canonical_json(content)).hexdigest() == line_hash(line)


def test_format_2_hash_ignores_position_and_version_but_nothing_else() -> None:
    """Renumbering or moving a line keeps its hash; changing any other key changes it, and so
    does adding a key (format 2 hashes every key but the three)."""
    line = format_2_line()
    digest = line_hash(line)
    assert digest == line_hash({**line, "position": 99, "version": 5, "hash": "x"})
    for key in line.keys() - {"hash", "position", "version", "format"}:
        assert digest != line_hash({**line, key: "changed"}), key
    assert digest != line_hash({**line, "note": "added"})


def test_format_2_hash_does_not_depend_on_how_the_json_was_written() -> None:
    """Key order, whitespace and escaping of the line's text do not matter: the hash is over
    the canonical form of the parsed value."""
    line = {**format_2_line(), "actor": "Zoë"}
    compact = json.dumps(line, separators=(",", ":"), ensure_ascii=False)
    spaced = json.dumps(dict(reversed(list(line.items()))), indent=2, ensure_ascii=True)
    assert line_hash(json.loads(compact)) == line_hash(json.loads(spaced))


@pytest.mark.parametrize("fmt", [0, 3, "2", True, None])
def test_unknown_formats_raise_value_error(fmt: object) -> None:
    """Only the integers 1 and 2 name a format (not "2", not true)."""
    with pytest.raises(ValueError, match="unknown hash format"):
        line_hash({**format_2_line(), "format": fmt})


def test_format_2_content_with_a_float_cannot_be_hashed() -> None:
    """A float in a format-2 line has no canonical form here: ValueError."""
    with pytest.raises(ValueError, match="floating-point"):
        line_hash({**format_2_line(), "data": {"ratio": 0.5}})


def test_chain_step_is_the_engines_global_chain_step() -> None:
    """head_n = sha256_hex(f"{head_(n-1)}:{position}:{hash_n}"), as engine.audit computes."""
    digest = "ab" * 32
    expected = hashlib.sha256(f"{GENESIS}:1:{digest}".encode()).hexdigest()
    assert expected == chain_step(GENESIS, 1, digest) == audit.chain_step(GENESIS, 1, digest)


_text = st.none() | st.text()
_usual_lines = st.fixed_dictionaries(
    {
        "format": st.just(2), "position": st.integers(1, 10**6), "ticket": _text,
        "type": _text, "version": st.integers(1, 10**4), "occurred_at": _text,
        "recorded_at": _text, "actor": _text, "reason": _text, "command_id": _text,
        "command_digest": _text, "prev_hash": _text, "hash": _text, "stream_id": _text,
        "data": st.dictionaries(
            st.text(), st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(),
            max_size=6,
        ),
        "source": st.none() | st.dictionaries(st.text(), st.text() | st.floats(), max_size=3),
    }
)  # fmt: skip


@given(_usual_lines)
def test_format_2_lines_of_the_usual_shape_hash_as_the_definition_says(line: Any) -> None:
    """Lines shaped as DeskLedger writes them are encoded member by member; the hash (or the
    ValueError) is the definition's: SHA-256 of JCS of the line minus the three keys."""
    content = {k: v for k, v in line.items() if k not in {"hash", "position", "version"}}
    try:
        expected = hashlib.sha256(canonical_json(content)).hexdigest()
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            line_hash(line)
        return
    assert expected == line_hash(line)


_SCALAR = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=8)
_SOURCE = st.none() | st.dictionaries(
    st.text(max_size=6), _SCALAR | st.lists(_SCALAR, max_size=2) | st.floats(), max_size=3
)


@given(
    text=st.text(max_size=30),
    actor=st.text(min_size=1, max_size=10),
    command_id=st.none() | st.text(max_size=10),
    source=_SOURCE,
)
def test_a_new_event_is_hashed_from_its_fields_as_its_line_would_be(
    text: str, actor: str, command_id: str | None, source: dict[str, Any] | None
) -> None:
    """A new event is hashed from its constructor's fields before it is built (the fast
    path); whatever the values (non-ASCII, lone surrogates, nested or float source values),
    the hash is the one its built line gives, or both refuse it alike."""
    fields: dict[str, Any] = {
        "originator_id": UUID(int=7),
        "originator_version": 3,
        "timestamp": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "ref": "INC0001",
        "occurred_at": datetime(2026, 3, 2, 9, 29, 59, 250_000, tzinfo=UTC),
        "actor": actor,
        "command_id": command_id,
        "command_digest": None if command_id is None else "d" * 64,
        "reason": None,
        "source": source,
        "format": 2,
        "prev_hash": "a" * 64,
        "hash": "",
        "text": text,
        "visibility": "internal",
    }
    try:
        expected: str | type[Exception] = line_hash(hashed_line(CommentAdded(**fields)))
    except ValueError:
        expected = ValueError
    try:
        found: str | type[Exception] = sealed(CommentAdded, dict(fields)).hash
    except ValueError:
        found = ValueError
    assert expected == found
