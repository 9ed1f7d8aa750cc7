"""Tamper evidence: the canonical encoding of an event and the SHA-256 chains over it.

Each ticket event stores ``prev_hash`` (the ``hash`` of the ticket's previous event, or
:data:`GENESIS`) and ``hash``: SHA-256 over the canonical JSON of every field of the event
except ``hash`` itself, its type name included. A second chain runs over the whole log in
position order: ``head(n) = sha256(head(n-1) ":" position ":" hash(n))``. It is never stored:
``verify`` recomputes it, so an auditor who noted ``<position>:<head>`` can later prove that
nothing up to that position changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

GENESIS = "0" * 64


_SCALARS = (str, int, float, bool, type(None))


def normal(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): normal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [normal(item) for item in value]
    return value


#: Not hashed: the hash itself, and the stream version — an event's place in its stream is
#: fixed by ``prev_hash`` instead, so renumbering a stream to hide a deletion or an insertion
#: shows up as a broken link (missing/inserted) rather than as every later event "altered".
UNHASHED = frozenset({"hash", "originator_version"})


def canonical_content(event: Any) -> dict[str, Any]:
    """Every field of a (dataclass) event except ``hash`` and the version, plus its type."""
    content = {name: normal(getattr(event, name)) for name in _hashed_fields(type(event))}
    content["type"] = type(event).__name__
    return content


_HASHED_FIELDS: dict[type, tuple[str, ...]] = {}


def _hashed_fields(cls: type) -> tuple[str, ...]:
    """The hashed field names of an event class (computed once per class)."""
    names = _HASHED_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in UNHASHED)
        _HASHED_FIELDS[cls] = names
    return names


def event_hash(event: Any) -> str:
    """SHA-256 of the event's canonical encoding (sorted keys, compact separators)."""
    encoded = json.dumps(
        canonical_content(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def chain_step(head: str, position: int, event_digest: str) -> str:
    """One step of the global chain over the log in position order."""
    return hashlib.sha256(f"{head}:{position}:{event_digest}".encode()).hexdigest()
