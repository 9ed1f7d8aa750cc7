"""The event envelope of SPEC §6: the JSON shape of an event in exports, audits and NATS."""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.audit import normal
from engine.chain import ENVELOPE_FIELDS, LedgerEvent


def event_type(event: LedgerEvent) -> str:
    return type(event).__name__


def envelope(event: LedgerEvent, position: int) -> dict[str, Any]:
    """One event as a JSON-able mapping: envelope fields plus its ``data``."""
    data = {
        f.name: normal(getattr(event, f.name))
        for f in dataclasses.fields(event)
        if f.name not in ENVELOPE_FIELDS
    }
    return {
        "position": position,
        "ticket": event.ref,
        "type": event_type(event),
        "version": event.originator_version,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.timestamp.isoformat(),
        "actor": event.actor,
        "reason": event.reason,
        "command_id": event.command_id,
        "data": data,
        "source": normal(event.source),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "stream_id": str(event.originator_id),
    }
