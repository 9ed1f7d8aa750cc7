"""Stored records of the usual shape, read without decoding their JSON.

``verify`` and ``export`` read every record of the log. Decoding a record's JSON into Python
objects (:func:`engine.envelope.stored_line`) and writing it out again, canonically for its
hash or as an export line, costs most of their time. Yet a record DeskLedger wrote is JSON
of a fixed *shape* for its event type: the same members in the same order, the strings
already written as JSON's encoder writes them. This module recognises such a record with one
regular expression per shape (learned from the first record of the shape) and writes its
hashed content (RFC 8785) and its export line straight from the matched text.

**Exactness.** A record is read here only when the expression proves that the result is
byte for byte what decoding it gives; for any other record the functions return None and the
caller reads it the general way. The expression admits only:

* the members of the record in the order DeskLedger writes them, no whitespace, hash
  format 2, and ``data`` members named by ASCII identifiers other than the envelope's (so
  their order by code point is RFC 8785's order by UTF-16 code unit);
* strings whose only escapes are those JSON's encoder writes (``\\"``, ``\\\\``, ``\\b``,
  ``\\f``, ``\\n``, ``\\r``, ``\\t``), in a record without control characters: such a
  string is written as it is stored, in the canonical form and in the export alike;
* integers of at most 15 digits without leading zeros or ``-0`` (within ±(2**53 - 1)),
  ``null``, ``true``, ``false``, arrays of these, and in ``source`` an object of these
  (with ASCII identifiers for names, none of them ``_type_``);
* datetimes as the store's transcoder writes them, with an offset and exactly as
  ``datetime.isoformat`` writes back what ``datetime.fromisoformat`` reads from them (a
  valid date and time, microseconds only when not zero, ``+00:00`` rather than ``-00:00``).

A record with a float, a nested object, another transcoded type, duplicate members, an
unknown layout or invalid JSON does not match, and neither does anything a tampered record
may hold beyond that: tampering is still found, by the general way. Standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from operator import itemgetter
from typing import NamedTuple

from engine.envelope import NOT_DATA

#: The members a stored record starts with, in the order DeskLedger writes them; a stream's
#: first record has ``originator_topic`` after ``timestamp``.
_HEAD = (
    "timestamp", "ref", "occurred_at", "actor", "command_id", "command_digest", "reason",
    "source", "format", "prev_hash", "hash",
)  # fmt: skip
_FIRST_HEAD = (_HEAD[0], "originator_topic", *_HEAD[1:])
_VERSION_KEY = "class_version"
#: Shapes kept per topic, and in all: a log of records of ever new shapes is read the
#: general way instead of compiling an expression for each.
PER_TOPIC = 4
MAX_SHAPES = 512
#: Records of a topic that may fail to teach a shape (each is decoded to try) before its
#: records are no longer tried: a store of format 1, a topic never of the usual kind.
TRIES = 16

# ---------------------------------------------------------------------- the expressions

#: A string of a record without backslashes (its characters are its JSON text), and one
#: with only the escapes JSON's encoder writes.
_PLAIN_STRING = r'"[^"]*"'
_ESCAPED_STRING = r'"[^"\\]*(?:\\["\\bfnrt][^"\\]*)*"'
_INTEGER = r"-?[1-9][0-9]{0,14}|0"
#: A valid date (leap years included): exactly what ``date.fromisoformat`` accepts in this
#: form (checked for every year in tests/test_record_shapes.py).
_DATE = (
    r"(?!0000)[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
)
#: The rest of a datetime as ``isoformat`` writes it: microseconds only when not zero, an
#: offset below a day, ``-00:00`` written ``+00:00``.
_TIME = (
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.(?!000000)[0-9]{6})?"
    r"(?:\+(?:[01][0-9]|2[0-3]):[0-5][0-9]|-(?!00:00)(?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
#: A transcoded datetime; its group is its value as a JSON string, which :data:`_INSTANTS`
#: checks (in the expression of every shape, it would make each one slow to compile).
_DATETIME = r'\{"_type_":"datetime_iso","_data_":("[^"]*")\}'
#: The values of a record's datetimes one after the other, each a valid one as ``isoformat``
#: writes it.
_INSTANTS = re.compile(r'(?:"(?:' + _DATE + r")" + _TIME + r'")*').fullmatch
#: A member name of ``source``: an ASCII identifier, but not ``_type_`` (the transcoder
#: would decode an object ``{"_type_": …, "_data_": …}`` into another type).
_KEY = r'"(?!_type_")[A-Za-z_][A-Za-z0-9_]*"'
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").fullmatch
_CONTROL = bytes(range(0x20))


def _scalar(string: str) -> str:
    return f"{string}|{_INTEGER}|null|true|false"


def _array(string: str) -> str:
    item = f"(?:{_scalar(string)})"
    return rf"\[(?:{item}(?:,{item})*)?\]"


def _object(string: str) -> str:
    member = f"{_KEY}:(?:{_scalar(string)})"
    return rf"\{{(?:{member}(?:,{member})*)?\}}"


def _members(string: str) -> Callable[[str], list[tuple[str, str]]]:
    """The (name, value) pairs of an object :func:`_object` matched, in order."""
    return re.compile(f"({_KEY}):({_scalar(string)})").findall


_PLAIN_MEMBERS = _members(_PLAIN_STRING)
_ESCAPED_MEMBERS = _members(_ESCAPED_STRING)
_PAIR = "%s:%s".__mod__


#: The groups of a shape's expression: the envelope's values (JSON text, but the ticket's
#: and the hashes' text without quotes), then two per ``data`` member from :data:`_DATA` on:
#: its value if a datetime, its value if not (the other one is empty).
_RECORDED, _TICKET, _OCCURRED, _ACTOR, _COMMAND_ID, _DIGEST, _REASON = range(7)
_SOURCE, _PREV_HASH, _HASH, _DATA = range(7, 11)


def _pattern(string: str, first: bool, data: tuple[str, ...], versioned: bool) -> str:
    """The expression of one shape (its groups: :data:`_RECORDED` …)."""
    text = r'"([^"]*)"' if string == _PLAIN_STRING else r'"([^"\\]*)"'  # no escapes
    optional = f"({string}|null)"
    value = f"(?:{_DATETIME}|({_scalar(string)}|{_array(string)}))"
    parts = [r'\{"timestamp":', _DATETIME, ","]
    if first:
        parts.append(f'"originator_topic":{string},')
    parts += [
        f'"ref":{text},"occurred_at":{_DATETIME},"actor":({string}),',
        f'"command_id":{optional},"command_digest":{optional},"reason":{optional},',
        f'"source":(null|{_object(string)}),"format":2,"prev_hash":{text},"hash":{text}',
    ]
    parts += [f',"{name}":{value}' for name in data]
    if versioned:
        parts.append(f',"{_VERSION_KEY}":(?:{_INTEGER})')
    parts.append(r"\}")
    return "".join(parts)


# ---------------------------------------------------------------------- one shape


class _Shape:
    """The records of one topic with the same members: their expressions and the templates
    their hashed content and export line are written with."""

    def __init__(self, type_name: str, first: bool, data: tuple[str, ...], versioned: bool):
        self.key = (first, data, versioned)
        self._plain = re.compile(_pattern(_PLAIN_STRING, *self.key)).fullmatch
        self._escaped: Callable[[str], re.Match[str] | None] | None = None
        quoted_type = json.dumps(type_name, ensure_ascii=False).replace("%", "%%")
        groups = {name: _DATA + 2 * index for index, name in enumerate(data)}
        by_name = sorted(data)  # ASCII identifiers: code points order them as UTF-16 does
        self.hashed = (
            '{"actor":%s,"command_digest":%s,"command_id":%s,"data":{'
            + ",".join(f'"{name}":%s%s' for name in by_name)
            + '},"format":2,"occurred_at":%s,"prev_hash":"%s","reason":%s,"recorded_at":%s,'
            '"source":%s,"stream_id":"%s","ticket":"%s","type":' + quoted_type + "}"
        )
        self.hashed_groups = itemgetter(
            _ACTOR, _DIGEST, _COMMAND_ID,
            *[groups[name] + part for name in by_name for part in (0, 1)],
            _OCCURRED, _PREV_HASH, _REASON, _RECORDED,
        )  # fmt: skip
        self.line = (
            '{"format":2,"position":%d,"ticket":"%s","type":' + quoted_type + ',"version":%d,'
            '"occurred_at":%s,"recorded_at":%s,"actor":%s,"reason":%s,"command_id":%s,"data":{'
            + ",".join(f'"{name}":%s%s' for name in data)
            + '},"source":%s,"prev_hash":"%s","hash":"%s","stream_id":"%s","command_digest":%s}\n'
        )
        self.line_groups = itemgetter(
            _OCCURRED, _RECORDED, _ACTOR, _REASON, _COMMAND_ID,
            *[groups[name] + part for name in data for part in (0, 1)],
            _SOURCE, _PREV_HASH, _HASH,
        )  # fmt: skip
        self.instants = itemgetter(_RECORDED, _OCCURRED, *[groups[name] for name in data])

    def match(self, text: str, escaped: bool) -> re.Match[str] | None:
        if not escaped:
            return self._plain(text)
        if self._escaped is None:
            self._escaped = re.compile(_pattern(_ESCAPED_STRING, *self.key)).fullmatch
        return self._escaped(text)


# ---------------------------------------------------------------------- matching records

_shapes: dict[str, tuple[_Shape, ...]] = {}  # topic -> its shapes (shared by every read)
_failed: dict[str, int] = {}  # topic -> records that failed to teach a shape


def _match(topic: str, state: object) -> tuple[_Shape, tuple[str, ...], bool] | None:
    """The record's shape, its groups and whether it has escapes; None when it does not
    have the usual shape."""
    if type(topic) is not str or type(state) is not bytes:
        return None  # a store may hold anything in its columns
    if len(state.translate(None, _CONTROL)) != len(state):
        return None  # JSON forbids control characters in strings; the JSON decoder says so
    try:
        text = state.decode()
    except UnicodeDecodeError:
        return None
    escaped = "\\" in text
    found = _find(topic, text, escaped)
    if found is None:
        return None
    shape, groups = found
    if _INSTANTS("".join(shape.instants(groups))) is None:
        return None
    return shape, groups, escaped


def _find(topic: str, text: str, escaped: bool) -> tuple[_Shape, tuple[str, ...]] | None:
    """The shape of the topic the record matches (learned from it if need be), its groups."""
    for shape in _shapes.get(topic, ()):
        found = shape.match(text, escaped)
        if found is not None:
            return shape, found.groups("")
    learned = _learn(topic, text)
    found = None if learned is None else learned.match(text, escaped)
    if learned is None or found is None:
        return None
    return learned, found.groups("")


def _learn(topic: str, text: str) -> _Shape | None:
    """A new shape for the members of this record, if it has the usual layout and its
    topic has not failed to teach one :data:`TRIES` times."""
    known = _shapes.get(topic, ())
    failed = _failed.get(topic, 0)
    if failed >= TRIES or len(known) >= PER_TOPIC or sum(map(len, _shapes.values())) >= MAX_SHAPES:
        return None
    shape = _shape_of(topic, text, known)
    if shape is None:
        _failed[topic] = failed + 1
    else:
        _shapes[topic] = (*known, shape)
    return shape


def _shape_of(topic: str, text: str, known: tuple[_Shape, ...]) -> _Shape | None:
    try:
        state = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
        return None
    if type(state) is not dict or state.get("format") != 2:
        return None
    names = tuple(state)
    first = names[1:2] == ("originator_topic",)
    head = _FIRST_HEAD if first else _HEAD
    data = names[len(head) :]
    versioned = data[-1:] == (_VERSION_KEY,)
    if versioned:
        data = data[:-1]
    if names[: len(head)] != head or not all(
        _IDENTIFIER(name) and name not in NOT_DATA for name in data
    ):
        return None
    if any(shape.key == (first, data, versioned) for shape in known):
        return None  # the shape is known: this record's values are not of the usual kind
    return _Shape(topic.rpartition(":")[2].rpartition(".")[2], first, data, versioned)


def _source(groups: tuple[str, ...], escaped: bool) -> tuple[str, str] | None:
    """``source`` as stored and in canonical form (members sorted); None when it has two
    members of the same name (the JSON decoder keeps the last, this module neither)."""
    stored = groups[_SOURCE]
    if stored == "null":
        return stored, stored
    members = (_ESCAPED_MEMBERS if escaped else _PLAIN_MEMBERS)(stored)
    if len(dict(members)) != len(members):
        return None
    # '"name"' strings sort as the names do: '"' sorts before every identifier character.
    return stored, "{" + ",".join(map(_PAIR, sorted(members))) + "}"


def hashed_record(topic: str, state: object, stream_id: str) -> tuple[str, str, str, str] | None:
    """(canonical JSON of the hashed content, ``hash``, ``prev_hash``, ticket) of a stored
    record of the usual shape (docs/hash-format.md, format 2); None for any other record."""
    found = _match(topic, state)
    if found is None:
        return None
    shape, groups, escaped = found
    source = _source(groups, escaped)
    if source is None:
        return None
    text = shape.hashed % (*shape.hashed_groups(groups), source[1], stream_id, groups[_TICKET])
    return text, groups[_HASH], groups[_PREV_HASH], groups[_TICKET]


class ShapedLine(NamedTuple):
    """A record of the usual shape as an export line, with the fields the relay sends as
    headers (all as text, as the line holds them)."""

    occurred_at: str
    ticket: str
    hash: str
    text: str  # the export line, newline included


def shaped_line(
    topic: str, state: object, position: int, version: int, stream_id: str
) -> ShapedLine | None:
    """A stored record of the usual shape as the export writes it; None for any other
    record (and for a position or version that is not an integer: a store may hold
    anything there)."""
    if type(position) is not int or type(version) is not int:
        return None
    found = _match(topic, state)
    if found is None or _source(found[1], found[2]) is None:
        return None
    shape, groups, _ = found
    line = shape.line % (
        position,
        groups[_TICKET],
        version,
        *shape.line_groups(groups),
        stream_id,
        groups[_DIGEST],
    )
    return ShapedLine(groups[_OCCURRED][1:-1], groups[_TICKET], groups[_HASH], line)


def export_line(
    topic: str, state: object, position: int, version: int, stream_id: str
) -> tuple[str, str] | None:
    """(``occurred_at``, export line with its newline) of a stored record of the usual
    shape (see :func:`shaped_line`); None for any other record."""
    found = shaped_line(topic, state, position, version, stream_id)
    return None if found is None else (found.occurred_at, found.text)


def forget_shapes() -> None:
    """Drop every learned shape, and the count of failures to learn one (for tests)."""
    _shapes.clear()
    _failed.clear()
