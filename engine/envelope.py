"""The event envelope of SPEC §6: one model for exports, audits, the relay and subscribers.

An :class:`Envelope` is what leaves the store: a JSON object per event with its position in
the log, its ticket, type, stream version, the §6 fields, the event's own ``data`` and its
link in the hash chain. The export writes one per line, the relay publishes one per message
and a subscriber hands one to its handler; all three use this class, so the shape is written
down once.

:func:`envelope` builds one from a domain event; :meth:`Envelope.from_json` reads one back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Self

from engine.audit import normal
from engine.chain import ENVELOPE_FIELDS, LedgerEvent

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
    "data",
    "source",
    "prev_hash",
    "hash",
    "stream_id",
)

#: The hash format of the events this code writes (see docs/hash-format.md).
HASH_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event as it leaves the store. Times are ISO-8601 strings with offset."""

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
        if self.extra:
            body.update(self.extra)
        return body

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Self:
        """Read an envelope (KeyError naming the first missing key)."""
        known = {key: body[key] for key in ENVELOPE_KEYS if key != "format"}
        extra = {key: value for key, value in body.items() if key not in ENVELOPE_KEYS}
        return cls(**known, format=int(body.get("format", 1)), extra=extra)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        return cls.from_dict(json.loads(text))


def event_type(event: LedgerEvent) -> str:
    return type(event).__name__


@cache
def data_fields(event_class: type[LedgerEvent]) -> tuple[str, ...]:
    """The fields of an event class that go in the envelope's ``data``."""
    return tuple(f.name for f in dataclasses.fields(event_class) if f.name not in ENVELOPE_FIELDS)


def envelope_of(event: LedgerEvent, position: int) -> Envelope:
    """The envelope of a domain event stored at ``position``."""
    source = event.source
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
        {name: _json_value(getattr(event, name)) for name in data_fields(type(event))},
        None if source is None else normal(source),
        event.prev_hash,
        event.hash,
        str(event.originator_id),
    )


def _json_value(value: Any) -> Any:
    return value if value is None or type(value) in _PLAIN else normal(value)


_PLAIN = frozenset({str, int, float, bool})


def envelope(event: LedgerEvent, position: int) -> dict[str, Any]:
    """One event as a JSON-able mapping: envelope fields plus its ``data``."""
    return envelope_of(event, position).as_dict()
