"""Typed identifiers: a ticket's stream id is derived from its ref, deterministically."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import NewType
from uuid import UUID, uuid5

from engine.errors import CommandValidationError

TicketRef = NewType("TicketRef", str)

#: The application's name (eventsourcing's): the views track their position in the log under
#: it, and a PostgreSQL store's tables are named after it. Never change it.
APPLICATION_NAME = "DeskLedger"
#: Namespace for DeskLedger's uuid5 ids; never change it, or refs map to new streams.
NAMESPACE = UUID("9f3c2d4e-6b1a-5c7d-8e9f-0a1b2c3d4e5f")

_REF_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
#: Names of DeskLedger's own streams and subjects, never a ticket's (any letter case).
RESERVED_REFS = frozenset({"policy", "checkpoint"})


def ticket_ref(value: str, field: str = "ref") -> TicketRef:
    """Validate a human ticket reference (``INC0001234``) and return it typed."""
    if not isinstance(value, str) or not _REF_PATTERN.match(value):
        raise CommandValidationError(
            field,
            f"invalid ticket ref {value!r} (letters, digits, '-' or '_', starting with a letter)",
        )
    if value.lower() in RESERVED_REFS:
        raise CommandValidationError(
            field, f"{value!r} is reserved for DeskLedger's own streams; choose another ref"
        )
    return TicketRef(value)


def record_ref(value: str) -> str:
    """Validate a reference to a record kept elsewhere (a problem ``PRB0042``, a change
    ``CHG0042``): the characters of a ticket ref. ValueError (a field validator's error)."""
    if not isinstance(value, str) or not _REF_PATTERN.match(value):
        raise ValueError(
            f"invalid ref {value!r} (letters, digits, '-' or '_', starting with a letter)"
        )
    return value


@lru_cache(maxsize=65536)
def ticket_id(ref: str) -> UUID:
    """The stream id of the ticket with this ref: the same ref always maps to the same id."""
    return uuid5(NAMESPACE, f"ticket:{ref}")


@cache
def policy_registry_id() -> UUID:
    """The stream id of the store's single policy registry."""
    return uuid5(NAMESPACE, "policy-registry")
