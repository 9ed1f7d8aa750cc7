"""The event envelope of docs/concepts.md: one model for exports, audits, the relay and subscribers.

An :class:`Envelope` is what leaves the store: a JSON object per event with its position in
the log, its ticket, type, stream version, the §6 fields, the event's own ``data`` and its
link in the hash chain. The export writes one per line, the relay publishes one per message
and a subscriber hands one to its handler; all three use this class, so the shape is written
down once. Its JSON object is also what an event's hash covers (``docs/hash-format.md``):
every key of the line but ``hash``, ``position`` and ``version``, canonically encoded.

* :func:`envelope_of` builds one from a domain event;
* :func:`stored_line` builds the same JSON object straight from a stored record (no domain
  object: ``verify`` and ``export`` read the log this way, and a record whose class is gone
  still verifies); :func:`line_text` is its line in an export;
* :func:`event_from_envelope` turns an envelope back into the domain event (a subscriber's
  projection applies it with the aggregate's own mutators).

**Upcast events keep what was recorded.** When an event class changes shape, its
``upcast_vN_vN+1`` methods (eventsourcing's upcasting) bring older records up to date when
they are read, so the domain sees one shape. The upcaster first calls :func:`keep_recorded`,
which keeps the data as it was recorded beside the event (not as a field); the event's
envelope is built from that, so the export, the relay, audits and hashes show what was
recorded, never what it was upcast to. An envelope of an older shape (its ``data`` keys are
not the class's) is upcast the same way when it is turned back into an event.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from uuid import UUID

from engine.audit import normal
from engine.hashformat import v2_content
from engine.isotext import iso_text

#: The hash format of the events this code writes (see docs/hash-format.md).
HASH_FORMAT = 2

#: The fields every event carries beside its own ``data`` (internal names).
ENVELOPE_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "ref",
        "occurred_at",
        "actor",
        "command_id",
        "command_digest",
        "reason",
        "source",
        "format",
        "prev_hash",
        "hash",
    }
)

#: The keys of an envelope, in the order they are written.
ENVELOPE_KEYS = (
    "format",
    "position",
    "ticket",
    "type",
    "version",
    "occurred_at",
    "recorded_at",
    "actor",
    "reason",
    "command_id",
    "command_digest",
    "data",
    "source",
    "prev_hash",
    "hash",
    "stream_id",
)

_RECORD_ONLY = frozenset({"class_version"})

#: Where an upcast event keeps the data it was recorded with (an attribute, not a field).
RECORDED_DATA = "_recorded_data"


def keep_recorded(state: dict[str, Any]) -> None:
    """Called by an upcaster before it changes an event's ``state``: keep the event's data as
    recorded (once: the first upcaster of a chain keeps it), for its envelope."""
    if RECORDED_DATA not in state:
        state[RECORDED_DATA] = copy.deepcopy(
            {key: value for key, value in state.items() if key not in ENVELOPE_FIELDS}
        )


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event as it leaves the store. Times are ISO-8601 strings with offset.

    ``command_digest`` (format 2) binds a ``command_id`` to the command it was given to;
    ``extra`` holds keys of older formats (``originator_topic`` in format 1).
    """

    position: int
    ticket: str
    type: str
    version: int
    occurred_at: str
    recorded_at: str
    actor: str
    reason: str | None
    command_id: str | None
    data: dict[str, Any]
    source: dict[str, Any] | None
    prev_hash: str
    hash: str
    stream_id: str
    format: int = HASH_FORMAT
    command_digest: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object (keys in :data:`ENVELOPE_KEYS` order, then any ``extra``)."""
        body = {
            "format": self.format,
            "position": self.position,
            "ticket": self.ticket,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at,
            "actor": self.actor,
            "reason": self.reason,
            "command_id": self.command_id,
            "data": self.data,
            "source": self.source,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "stream_id": self.stream_id,
        }  # written out: the relay builds one per event (a loop over the keys costs 2x)
        if self.format >= 2:
            body["command_digest"] = self.command_digest
        if self.extra:
            body.update(self.extra)
        return body

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Self:
        """Read an envelope (KeyError naming the first missing key)."""
        optional = {"format", "command_digest"}
        known = {key: body[key] for key in ENVELOPE_KEYS if key not in optional}
        extra = {key: value for key, value in body.items() if key not in ENVELOPE_KEYS}
        return cls(
            **known,
            format=int(body.get("format", 1)),
            command_digest=body.get("command_digest"),
            extra=extra,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        return cls.from_dict(json.loads(text))


_DATA_FIELDS: dict[type, tuple[str, ...]] = {}


def data_fields(event_class: type) -> tuple[str, ...]:
    """The fields of an event class that go in the envelope's ``data`` (computed once)."""
    names = _DATA_FIELDS.get(event_class)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(event_class) if f.name not in ENVELOPE_FIELDS
        )
        _DATA_FIELDS[event_class] = names
    return names


def envelope_of(event: Any, position: int) -> Envelope:
    """The envelope of a domain event stored at ``position``."""
    source = event.source
    extra: dict[str, Any] = {}
    if event.format < 2 and getattr(event, "originator_topic", None) is not None:
        extra["originator_topic"] = event.originator_topic
    return Envelope(
        position,
        event.ref,
        type(event).__name__,
        event.originator_version,
        event.occurred_at.isoformat(),
        event.timestamp.isoformat(),
        event.actor,
        event.reason,
        event.command_id,
        _data(event),
        None if source is None else normal(source),
        event.prev_hash,
        event.hash,
        str(event.originator_id),
        event.format,
        event.command_digest,
        extra,
    )


def _data(event: Any) -> dict[str, Any]:
    """The event's own fields for its envelope: as recorded, for an upcast event."""
    recorded = event.__dict__.get(RECORDED_DATA)
    if recorded is not None:
        return {name: _json_value(value) for name, value in recorded.items()}
    return {name: _json_value(getattr(event, name)) for name in data_fields(type(event))}


def _json_value(value: Any) -> Any:
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, str):
        return str(value)  # an enum member: its value
    return normal(value)


_PLAIN = frozenset({str, int, float, bool})


def envelope(event: Any, position: int) -> dict[str, Any]:
    """One event as a JSON-able mapping: envelope fields plus its ``data``."""
    return envelope_of(event, position).as_dict()


def hashed_line(event: Any) -> dict[str, Any]:
    """The JSON object an event's (format-2) hash covers: its envelope without ``hash``,
    ``position`` and ``version``."""
    line = envelope_of(event, 0).as_dict()
    for key in ("hash", "position", "version"):
        del line[key]
    return line


def draft_content(event_class: type, fields: Mapping[str, Any]) -> str | None:
    """The canonical JSON (format 2) of what the hash of ``event_class(**fields)`` covers,
    written from its constructor's fields without building the event or its line; None when
    a value is not of the usual plain shape, KeyError when a field of its ``data`` is not
    among them (left to a default). The caller then hashes the built event's line."""
    data = {}
    for name in data_fields(event_class):
        value = fields[name]
        data[name] = value if value is None or type(value) in _PLAIN else _json_value(value)
    source = fields["source"]
    if source is not None and type(source) is not dict:
        return _content(event_class, fields, data, normal(source))
    # A mapping is hashed as it is when it is plain JSON (an import's metadata always is;
    # v2_content checks, once), else as :func:`normal` copies it, as its line would hold it.
    content = _content(event_class, fields, data, source)
    if content is None and source is not None:
        content = _content(event_class, fields, data, normal(source))
    return content


def _content(
    event_class: type, fields: Mapping[str, Any], data: dict[str, Any], source: Any
) -> str | None:
    """:func:`draft_content` with ``source`` as its line would hold it."""
    return v2_content(
        actor=fields["actor"],
        command_digest=fields["command_digest"],
        command_id=fields["command_id"],
        data=data,
        occurred_at=iso_text(fields["occurred_at"]),
        prev_hash=fields["prev_hash"],
        reason=fields["reason"],
        recorded_at=iso_text(fields["timestamp"]),
        source=source,
        stream_id=str(fields["originator_id"]),
        ticket=fields["ref"],
        type_name=event_class.__name__,
    )


# ---------------------------------------------------------------------- stored records


def stored_line(
    topic: str, state: Mapping[str, Any], *, position: int, version: int, stream_id: Any
) -> dict[str, Any]:
    """The export line of a stored record, from its topic and decoded state alone.

    ``state`` is the record's JSON decoded by the store's transcoder (datetimes and UUIDs as
    objects). The type is the name the topic gives (the name the event was written under).
    KeyError or TypeError when the record does not have the shape of an event.
    """
    fields = state if type(state) is dict else dict(state)
    hash_format = fields.get("format", 1)
    body = {
        "format": hash_format,
        "position": position,
        "ticket": fields["ref"],
        "type": topic.rpartition(":")[2].rpartition(".")[2],
        "version": version,
        "occurred_at": normal(fields["occurred_at"]),
        "recorded_at": normal(fields["timestamp"]),
        "actor": fields["actor"],
        "reason": fields["reason"],
        "command_id": fields["command_id"],
        "data": {},
        "source": normal(fields["source"]),
        "prev_hash": fields["prev_hash"],
        "hash": fields["hash"],
        "stream_id": str(stream_id),
    }
    body["data"] = {
        name: value if type(value) in _PLAIN or value is None else normal(value)
        for name, value in fields.items()
        if name not in NOT_DATA
    }
    if hash_format >= 2:
        body["command_digest"] = fields.get("command_digest")
    elif fields.get("originator_topic") is not None:
        body["originator_topic"] = fields["originator_topic"]
    return body


def _compact_json() -> Callable[[Any], str]:
    """json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str), with json's
    C encoder built once (json.dumps builds an encoder on every call)."""
    make = getattr(json.encoder, "c_make_encoder", None)  # not in the typing stubs
    if make is None:  # pragma: no cover - CPython has it
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
    encoder = make(None, str, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    return lambda data: "".join(encoder(data, 0))


#: A line as compact JSON text (the export's line, the relay's message body), no newline.
line_json = _compact_json()


def line_text(line: Mapping[str, Any]) -> str:
    """A line as the export writes it: compact JSON in the line's key order, non-ASCII as
    itself, values of other types as their ``str``, and a newline
    (:mod:`engine.record_shapes` writes the same bytes for a record of the usual shape)."""
    return line_json(line) + "\n"


#: The keys of a stored record that are not its event's ``data``.
NOT_DATA = frozenset(
    {
        "format", "command_digest", "originator_topic", "ref", "occurred_at", "timestamp",
        "actor", "reason", "command_id", "source", "prev_hash", "hash", "originator_id",
        "originator_version", *_RECORD_ONLY,
    }
)  # fmt: skip


# ---------------------------------------------------------------------- back to events


def event_from_envelope(envelope: Envelope, classes: Mapping[str, type[Any]]) -> Any:
    """The domain event an envelope describes; ``classes`` maps type names to event classes
    (see :func:`event_classes`). KeyError for an unknown type, ValueError for bad values."""
    cls = classes[envelope.type]
    instants = _instant_fields(cls)
    fields: dict[str, Any] = {
        "originator_id": UUID(envelope.stream_id),
        "originator_version": envelope.version,
        "timestamp": datetime.fromisoformat(envelope.recorded_at),
        "ref": envelope.ticket,
        "occurred_at": datetime.fromisoformat(envelope.occurred_at),
        "actor": envelope.actor,
        "reason": envelope.reason,
        "command_id": envelope.command_id,
        "command_digest": envelope.command_digest,
        "source": envelope.source,
        "format": envelope.format,
        "prev_hash": envelope.prev_hash,
        "hash": envelope.hash,
    }
    for name, value in envelope.data.items():
        fields[name] = datetime.fromisoformat(value) if name in instants and value else value
    if "originator_topic" in {f.name for f in dataclasses.fields(cls)}:
        fields["originator_topic"] = envelope.extra.get("originator_topic") or cls.topic_of_stream
    if set(envelope.data) != set(data_fields(cls)):
        return _upcast(cls, fields, envelope.format)
    return cls(**fields)


def _upcast(cls: type[Any], state: dict[str, Any], hash_format: int) -> Any:
    """The event of an envelope recorded under an older shape of ``cls``, upcast as the store's
    mapper would: from class version 1 for a format-1 line, else from 2 (format 2 arrived with
    version 2). TypeError, as the constructor would raise, when the data still does not fit."""
    version = 1 if hash_format < 2 else 2
    while version < getattr(cls, "class_version", 1):
        getattr(cls, f"upcast_v{version}_v{version + 1}")(state)
        version += 1
    missing = set(data_fields(cls)) - set(state)
    unknown = set(state) - {f.name for f in dataclasses.fields(cls)} - {RECORDED_DATA}
    if missing or unknown:
        raise TypeError(
            f"{cls.__name__} data does not fit: missing {sorted(missing)}, "
            f"unknown {sorted(unknown)}"
        )
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event


_INSTANTS: dict[type, frozenset[str]] = {}


def _instant_fields(cls: type) -> frozenset[str]:
    found = _INSTANTS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = frozenset(
            name for name, hint in hints.items() if hint is datetime or hint == datetime | None
        )
        _INSTANTS[cls] = found
    return found


def event_classes(base: type[Any]) -> dict[str, type[Any]]:
    """Every concrete subclass of ``base`` by its name (the envelope's ``type``)."""
    found: dict[str, type[Any]] = {}
    pending = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found
