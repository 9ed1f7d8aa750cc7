"""The event envelope of SPEC §6: the JSON shape of an event in exports, audits and NATS.

:func:`envelope` builds it from a domain event; :func:`envelope_from_fields` from an event's
fields already in JSON form (``state`` as stored, with datetimes and UUIDs as strings), which
lets the relay skip rebuilding domain objects. Both go through :func:`_assemble`, the one
place the shape is written down.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any
from uuid import UUID

from engine.audit import normal
from engine.chain import ENVELOPE_FIELDS, LedgerEvent


def event_type(event: LedgerEvent) -> str:
    return type(event).__name__


@cache
def data_fields(event_class: type[LedgerEvent]) -> tuple[str, ...]:
    """The fields of an event class that go in the envelope's ``data``."""
    return tuple(f.name for f in dataclasses.fields(event_class) if f.name not in ENVELOPE_FIELDS)


def _assemble(
    *,
    position: int,
    version: int,
    stream_id: str,
    type_name: str,
    fields: Mapping[str, Any],
    data: Sequence[str],
) -> dict[str, Any]:
    return {
        "position": position,
        "ticket": fields["ref"],
        "type": type_name,
        "version": version,
        "occurred_at": fields["occurred_at"],
        "recorded_at": fields["timestamp"],
        "actor": fields["actor"],
        "reason": fields["reason"],
        "command_id": fields["command_id"],
        "data": {name: fields[name] for name in data},
        "source": fields["source"],
        "prev_hash": fields["prev_hash"],
        "hash": fields["hash"],
        "stream_id": stream_id,
    }


def envelope(event: LedgerEvent, position: int) -> dict[str, Any]:
    """One event as a JSON-able mapping: envelope fields plus its ``data``."""
    names = data_fields(type(event))
    fields = {name: normal(getattr(event, name)) for name in names}
    for name in (
        "ref",
        "occurred_at",
        "timestamp",
        "actor",
        "reason",
        "command_id",
        "source",
        "prev_hash",
        "hash",
    ):
        fields[name] = normal(getattr(event, name))
    return _assemble(
        position=position,
        version=event.originator_version,
        stream_id=str(event.originator_id),
        type_name=event_type(event),
        fields=fields,
        data=names,
    )


def envelope_from_fields(
    event_class: type[LedgerEvent],
    fields: Mapping[str, Any],
    *,
    position: int,
    version: int,
    stream_id: UUID | str,
) -> dict[str, Any]:
    """The envelope from an event's stored fields in JSON form (KeyError if one is missing)."""
    return _assemble(
        position=position,
        version=version,
        stream_id=str(stream_id),
        type_name=event_class.__name__,
        fields=fields,
        data=data_fields(event_class),
    )
