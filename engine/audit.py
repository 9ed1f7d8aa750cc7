"""Tamper evidence, in short: events are hash-chained per stream and over the whole log.

The rules are ``docs/hash-format.md`` and :mod:`engine.hashformat` (line hashes of format 1
and 2, the log-wide chain); this module keeps the names the rest of the code uses and
:func:`normal`, the JSON form of the values events carry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from engine.hashformat import GENESIS, chain_step

__all__ = ["GENESIS", "chain_step", "normal"]

_SCALARS = (str, int, float, bool, type(None))
_PLAIN = frozenset(_SCALARS)


def normal(value: Any) -> Any:
    """``value`` as JSON: datetimes as ISO-8601, UUIDs as strings, containers recursively."""
    kind = type(value)
    if kind in _PLAIN:  # the common cases first, by exact type
        return value
    if kind is datetime:
        return value.isoformat()
    if kind is list or kind is tuple:  # an SLA's pause states and warnings, on every timer
        return [item if type(item) in _PLAIN else normal(item) for item in value]
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): normal(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normal(item) for item in value]
    return value
