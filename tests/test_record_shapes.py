"""Stored records of the usual shape (engine.record_shapes): read without decoding their JSON,
they give byte for byte the hashed content and the export line that decoding them gives — or
nothing, and are then read the general way (engine.envelope.stored_line). Checked on the
records a real history writes, on random records, and on records edited in each way that
could tell the two readings apart."""

# STYLE.md asks for `assert expected == actual`; SIM300 would flip literal ones.
# ruff: noqa: SIM300

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine import record_shapes
from engine.application import Desk
from engine.canonical import canonical_json
from engine.commands import parse_command
from engine.envelope import NOT_DATA, line_text, stored_line
from engine.hashformat import canonical_hash, hashed_content, line_hash
from engine.log import export_lines, export_texts
from engine.snapshots import PhaseAsDict, SlaTimerAsDict
from engine.verify import verify_log

TOPIC = "engine.ticket.facts:Assigned"
STREAM = "5f0c4d2e-7a43-5d0b-9a1e-0d3b8e6c2a11"


def _transcoder() -> JSONTranscoder:
    """The store's transcoder (eventsourcing's defaults and the desk's own)."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), PhaseAsDict()):
        transcoder.register(transcoding)
    transcoder.register(SlaTimerAsDict())
    return transcoder


TRANSCODER = _transcoder()


def general(topic: str, state: bytes) -> tuple[Any, Any] | None:
    """What decoding the record gives: (hashed content, hash, prev_hash, ticket) as verify
    reads it and (occurred_at, line) as export writes it; None when verify could not hash
    it by format 2 (it then reads it the general way, whatever that finds)."""
    try:
        line = stored_line(topic, TRANSCODER.decode(state), position=7, version=3, stream_id=STREAM)
        content = canonical_json(hashed_content(line)).decode()
        digest = line_hash(line)
    except Exception:  # noqa: BLE001 - whatever the general reading makes of it
        return None
    if line["format"] != 2 or not isinstance(line["hash"], str):
        return None
    if not isinstance(line["prev_hash"], str):
        return None
    assert canonical_hash(content) == digest
    hashed = (content, line["hash"], line["prev_hash"], line["ticket"])
    return hashed, (line["occurred_at"], line_text(line))


def shaped(topic: str, state: bytes, *, fresh: bool = True) -> tuple[Any, Any] | None:
    """The record read here; ``fresh``: by the shapes it teaches alone (random records have
    more shapes per topic than are kept)."""
    if fresh:
        record_shapes.forget_shapes()
    hashed = record_shapes.hashed_record(topic, state, STREAM)
    exported = record_shapes.export_line(topic, state, 7, 3, STREAM)
    assert (hashed is None) == (exported is None)
    return None if hashed is None else (hashed, exported)


def assert_exact(topic: str, state: bytes, *, fresh: bool = True) -> tuple[Any, Any] | None:
    """The record is read here exactly as decoding it reads it, or not at all."""
    found = shaped(topic, state, fresh=fresh)
    if found is not None:
        assert general(topic, state) == found
    return found


# ---------------------------------------------------------------------- records

_NAMES = st.from_regex(r"[a-z][a-z_0-9]{0,8}", fullmatch=True).filter(lambda n: n not in NOT_DATA)
#: Text as commands carry it: any character but control characters other than the five
#: JSON escapes by name (the encoder writes the others as \\u00XX, which is not the usual).
_USUAL_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), min_codepoint=0x20) | st.sampled_from("\n\t\r"),
    max_size=8,
)
#: Text without quotes or backslashes (tickets, hashes).
_PLAIN_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), min_codepoint=0x20, blacklist_characters='"\\'),
    min_size=1,
    max_size=8,
)
_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=45)),
     timezone(timedelta(hours=23, minutes=59)), timezone(-timedelta(hours=23, minutes=59))]
)  # fmt: skip
_INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_OFFSETS
)
_ODD_INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.none() | _OFFSETS | st.just(timezone(timedelta(seconds=30))),
)
_USUAL_SCALARS = st.none() | st.booleans() | st.integers(-(10**15) + 1, 10**15 - 1) | _USUAL_TEXT
_ANY_SCALARS = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | _ANY_TEXT | st.floats()
_USUAL_VALUES = _USUAL_SCALARS | _INSTANTS | st.lists(_USUAL_SCALARS, max_size=3)
_ANY_VALUES = (
    _ANY_SCALARS
    | _ODD_INSTANTS
    | st.lists(_ANY_SCALARS | _ODD_INSTANTS, max_size=3)
    | st.dictionaries(_NAMES, _ANY_SCALARS, max_size=2)
    | st.uuids()
)


@st.composite
def records(draw: st.DrawFn, *, usual: bool = True) -> bytes:
    """A stored record as the store writes it; ``usual``: of the kind DeskLedger writes."""
    text, plain, instants, values = (
        (_USUAL_TEXT, _PLAIN_TEXT, _INSTANTS, _USUAL_VALUES)
        if usual
        else (_ANY_TEXT, _ANY_TEXT, _ODD_INSTANTS, _ANY_VALUES)
    )
    optional = st.none() | text
    source = st.none() | st.dictionaries(_NAMES, _USUAL_SCALARS if usual else _ANY_SCALARS)
    state: dict[str, Any] = {"timestamp": draw(instants)}
    if draw(st.booleans()):
        state["originator_topic"] = "engine.ticket.rules:Ticket"
    state.update(
        ref=draw(plain), occurred_at=draw(instants), actor=draw(text),
        command_id=draw(optional), command_digest=draw(optional), reason=draw(optional),
        source=draw(source), format=2, prev_hash=draw(plain), hash=draw(plain),
    )  # fmt: skip
    state.update(draw(st.dictionaries(_NAMES, values, max_size=5)))
    state["class_version"] = 2
    encoded: bytes = TRANSCODER.encode(state)
    return encoded


@settings(max_examples=300)
@given(records())
def test_a_usual_record_is_read_exactly_as_decoding_it_reads_it(record: bytes) -> None:
    """Escapes, non-ASCII, datetimes of every offset, sources, lists: all of the usual kind
    are read here, and give what decoding gives."""
    assert assert_exact(TOPIC, record) is not None


@settings(max_examples=300)
@given(records(usual=False))
def test_any_record_is_read_exactly_or_not_at_all(record: bytes) -> None:
    """Floats, big integers, control characters, naive datetimes, UUIDs, nested objects:
    read exactly as decoding reads them, or left to the general reading."""
    assert_exact(TOPIC, record)


#: What an edit may put into a record to tell the two readings apart.
EDITS = [
    " ", "\\u0041", "\\/", "\x01", "\x7f", "-0", "0", "01", "1.5", "1e3", "12345678901234567",
    ".000000", "-00:00", "Z", "+00:00:30", '"', ",", "}", "{", "[", "]", ":", "null", "\\",
    "\\n", "T", " ", "29", "02-29", "24", "60", "é", "\U0001f600", '"_type_"', '"ref":"X",',
    '"class_version":1,', '"x":{"y":1},', '"hash":"0",', '"x":1,"x":2,',
]  # fmt: skip


@settings(max_examples=500)
@given(records(), st.data())
def test_an_edited_record_is_read_exactly_or_not_at_all(record: bytes, data: st.DataObject) -> None:
    text = record.decode()
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 3)))
    edited = text[:start] + data.draw(st.sampled_from(EDITS)) + text[end:]
    assert_exact(TOPIC, edited.encode())


def _usual() -> str:
    state = {
        "timestamp": datetime(2026, 3, 2, 8, 59, 0, 412000, tzinfo=UTC),
        "ref": "INC1001", "occurred_at": datetime(2026, 3, 2, 8, 59, tzinfo=UTC),
        "actor": "alice", "command_id": "c-7", "command_digest": None, "reason": None,
        "source": {"system": "servicenow", "line": 4}, "format": 2,
        "prev_hash": "0" * 64, "hash": "1" * 64,
        "assignment_group": "network", "assignee": "Zoë", "reassigned": True,
        "due": datetime(2024, 2, 29, 23, 0, tzinfo=timezone(timedelta(hours=-3))),
        "warn_at": [50, 75], "class_version": 2,
    }  # fmt: skip
    text: str = TRANSCODER.encode(state).decode()
    return text


USUAL = _usual()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("08:59:00+00:00", "08:59:00.000000+00:00"),  # isoformat leaves zero microseconds out
        ("08:59:00+00:00", "08:59:00-00:00"),  # ... and writes no offset as +00:00
        ("08:59:00+00:00", "08:59:00Z"),
        ("08:59:00+00:00", "08:59:00"),  # a naive datetime
        ("08:59:00+00:00", "08:59:00+00:00:30"),
        ("2026-03-02T08:59:00+00", "2026-03-02 08:59:00+00"),
        ("2024-02-29", "2023-02-29"),  # not a leap year: fromisoformat refuses it
        ("2024-02-29", "1900-02-29"),
        ("T23:00", "T24:00"),
        ('"alice"', '"al\\u0069ce"'),  # the same text, escaped otherwise
        ('"alice"', '"al\\/ice"'),
        ('"alice"', '"al\x01ice"'),  # a control character: not JSON
        ('"alice"', '"alice" '),
        ('{"system":"servicenow","line":4}', '{"_type_":"uuid_hex","_data_":"' + "a" * 32 + '"}'),
        ('{"system":"servicenow","line":4}', '{"_data_":"2024-01-01T00:00:00+00:00","_type_":"x"}'),
        ('{"system":"servicenow","line":4}', '{"system":"servicenow","line":4} '),
        ('"line":4', '"line":4.0'),
        ('"line":4', '"line":-0'),
        ('"line":4', '"line":04'),
        ('"line":4', '"line":9007199254740993'),
        ('"line":4', '"line":4,"line":5'),  # two members of one name: the decoder keeps one
        ('"reassigned":true', '"reassigned":true,"reassigned":false'),
        ('"reassigned":true', '"reassigned":true,"ref":"INC6666"'),
        ('"reassigned":true', '"reassigned":true,"originator_id":"x"'),
        ('"reassigned":true', '"reassigned":{"a":1}'),
        ('"reassigned":true', '"reassigned":[[1]]'),
        ('"reassigned":true', '"reassigned":{"_type_":"uuid_hex","_data_":"' + "a" * 32 + '"}'),
        ('"format":2', '"format":1'),
        ('"hash":"1111', '"hash":"\\u0031111'),
        ('"class_version":2}', '"class_version":2} '),
    ],
)
def test_records_that_decode_otherwise_are_not_read_here(old: str, new: str) -> None:
    """Each edit gives a record that decoding reads differently (or not at all) than its
    stored text says at face value: it is left to the general reading."""
    assert old in USUAL
    assert shaped(TOPIC, USUAL.replace(old, new, 1).encode()) is None


def test_the_usual_record_gives_the_documented_canonical_form() -> None:
    found = assert_exact(TOPIC, USUAL.encode())
    assert found is not None
    (text, carried, prev_hash, ticket), (occurred_at, _) = found
    assert text.startswith('{"actor":"alice","command_digest":null,"command_id":"c-7","data":{')
    assert '"data":{"assignee":"Zoë","assignment_group":"network","due":' in text
    assert '"source":{"line":4,"system":"servicenow"}' in text
    assert ("1" * 64, "0" * 64, "INC1001") == (carried, prev_hash, ticket)
    assert "2026-03-02T08:59:00+00:00" == occurred_at


def test_a_record_nested_too_deep_to_decode_is_not_read_here() -> None:
    """It teaches no shape (decoding it fails, as the general reading does): no crash."""
    deep = USUAL.replace('"warn_at":[50,75]', '"warn_at":' + "[" * 100_000 + "]" * 100_000)
    assert shaped("engine.ticket.facts:Deep", deep.encode()) is None


def test_invalid_utf8_and_other_states_are_not_read_here() -> None:
    assert shaped(TOPIC, USUAL.replace("Zoë", "Zo").encode() + b"\xff") is None
    assert record_shapes.hashed_record(TOPIC, USUAL, STREAM) is None  # text, not bytes
    for topic in (TOPIC.encode(), 7, None):  # a topic SQLite was made to hold
        assert record_shapes.hashed_record(topic, USUAL.encode(), STREAM) is None  # type: ignore[arg-type]
    for odd in ("3", 3.0, None, True):  # a version SQLite was made to hold
        assert record_shapes.export_line(TOPIC, USUAL.encode(), 7, odd, STREAM) is None  # type: ignore[arg-type]


def test_the_date_expression_accepts_exactly_the_dates_python_reads() -> None:
    """The expression's dates (leap years and all) against date.fromisoformat, over every
    month and day number of years that make a difference, and of the full range's ends."""
    accepts = re.compile(f"(?:{record_shapes._DATE})").fullmatch
    for year in (0, 1, 4, 100, 200, 400, 1600, 1700, 1900, 2000, 2023, 2024, 2100, 2400, 9999):
        for month in range(14):
            for day in range(33):
                text = f"{year:04d}-{month:02d}-{day:02d}"
                try:
                    date.fromisoformat(text)
                except ValueError:
                    valid = False
                else:
                    valid = True
                assert valid == (accepts(text) is not None), text


@given(st.integers(1, 9999))
@example(2000)  # a century divisible by 400
@example(1900)  # one that is not
def test_february_29th_is_a_date_in_leap_years_only(year: int) -> None:
    accepts = re.compile(f"(?:{record_shapes._DATE})").fullmatch
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    assert leap == (accepts(f"{year:04d}-02-29") is not None)


def test_shapes_learned_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log of records of ever new shapes does not compile an expression for each."""
    monkeypatch.setattr(record_shapes, "_shapes", {})
    monkeypatch.setattr(record_shapes, "_failed", {})
    for index in range(record_shapes.PER_TOPIC + 3):
        record = USUAL.replace('"reassigned"', f'"extra{index}"')
        found = shaped(TOPIC, record.encode(), fresh=False)
        assert (found is not None) == (index < record_shapes.PER_TOPIC)
    assert record_shapes.PER_TOPIC == len(record_shapes._shapes[TOPIC])


def test_a_topic_that_teaches_no_shape_is_given_up_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records of format 1 (or of another layout) are decoded to try to learn their shape
    only so many times: after that, reading them costs nothing more than before."""
    monkeypatch.setattr(record_shapes, "_shapes", {})
    monkeypatch.setattr(record_shapes, "_failed", {})
    decoded: list[str] = []
    monkeypatch.setattr(record_shapes.json, "loads", lambda text: decoded.append(text) or {})
    for _ in range(record_shapes.TRIES + 5):
        assert (
            shaped(TOPIC, USUAL.replace('"format":2', '"format":1').encode(), fresh=False) is None
        )
    assert record_shapes.TRIES == len(decoded)
    assert shaped("engine.ticket.facts:Other", USUAL.encode(), fresh=False) is None
    assert record_shapes.TRIES + 2 == len(decoded)  # another topic is tried (hashed, exported)


# ---------------------------------------------------------------------- a real history


@pytest.fixture
def history(sqlite_desk: Desk) -> Desk:
    """Tickets with escapes, non-ASCII, imported metadata and a policy change."""
    desk = sqlite_desk
    fields = {"title": 'Drucker "K2" — Papierstau\\', "caller": "Zoë", "impact": 2, "urgency": 1}
    desk.execute("open", {"ref": "INC0001", **fields}, actor="agent", command_id="c-1")
    desk.execute("assign", {"ref": "INC0001", "group": "network", "assignee": "bob"}, actor="x")
    desk.handle(
        parse_command("comment", {"ref": "INC0001", "text": "line one\nline two\t😀"}),
        actor="importer",
        source={"system": "servicenow", "line": 12, "made_sla": True, "priority": None},
    )
    desk.execute("hold", {"ref": "INC0001", "reason": "awaiting_vendor"}, actor="agent")
    desk.execute("resolve", {"ref": "INC0001", "code": "fixed", "notes": "ok"}, actor="agent")
    desk.execute("open", {"ref": "INC0002", **fields, "impact": 1}, actor="agent")
    return desk


def test_the_events_of_a_history_are_read_here(history: Desk) -> None:
    """Every event of a real history has the usual shape (escapes, non-ASCII, imported
    metadata and all) and reads exactly as decoding reads it."""
    records = history.recorder.select_notifications(0, 1000)
    assert 7 == len(records)  # opened, assigned, started, commented, held, resolved, opened
    for record in records:
        assert assert_exact(record.topic, record.state, fresh=False) is not None, record.topic


def test_export_texts_are_the_export_lines_written_out(history: Desk) -> None:
    lines = list(export_lines(history.recorder, history.mapper))
    texts = list(export_texts(history.recorder, history.mapper))
    assert [(line["occurred_at"], line_text(line)) for line in lines] == texts
    assert [json.loads(text) for _, text in texts] == lines


def test_verify_reports_the_same_without_the_shapes(
    history: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading every record the general way gives the same report, head included."""
    report = verify_log(history.recorder, history.mapper).as_dict()
    nothing: Callable[..., None] = lambda *_: None  # noqa: E731
    monkeypatch.setattr("engine.verify.hashed_record", nothing)
    assert verify_log(history.recorder, history.mapper).as_dict() == report
    assert report["ok"]
