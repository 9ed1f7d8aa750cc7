"""The event catalogue: docs/events/<Type>.schema.json and the catalogue in docs/events.md.

Everything comes from the event classes (engine/ticket/facts.py, engine/policy_registry.py,
engine/legacy.py): each type's docstring, class version, the fields of its ``data`` with their
Python annotations turned into JSON Schema (draft 2020-12), and the envelope every event
shares (engine/envelope.py). A field's meaning is written once, below, by field name.
Run ``make docs`` (tools/gen_docs.py) after changing an event class.
"""

from __future__ import annotations

import json
import re
import types
import typing
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine import legacy, policy_registry
from engine.chain import LedgerEvent
from engine.envelope import ENVELOPE_KEYS, HASH_FORMAT, data_fields
from engine.ticket import facts
from engine.vocabulary import Channel, HoldReason, SlaKind, TicketKind, Visibility

SCHEMA_DIR = Path("docs/events")
DIALECT = "https://json-schema.org/draft/2020-12/schema"
HEX64 = "^[0-9a-f]{64}$"

#: What each data field means, by name; (event type, field) overrides a name's general sense.
FIELD_NOTES: dict[str | tuple[str, str], str] = {
    "kind": "the ticket's kind",
    "title": "a short summary",
    "description": "the full description",
    "caller": "who reported it",
    "channel": "how it reached the desk",
    "category": "category (free text)",
    "subcategory": "subcategory (free text)",
    "service": "the affected service or configuration item",
    "impact": "1 (high) to 3 (low)",
    "urgency": "1 (high) to 3 (low)",
    "priority": "1 (highest) to 5, from the policy's matrix",
    "assignment_group": "the assignment group after this event",
    "assignee": "the assignee after this event",
    "affected_users": "how many users are affected",
    "policy_version": "the policy version in force at opening (0: none loaded)",
    "reassigned": "whether the assignment group changed (counts as a reassignment)",
    "hold_reason": "why it waits",
    "comment": "what the caller was asked",
    "by_caller_reply": "the caller's customer-visible comment resumed it",
    "code": "resolution code",
    "notes": "what was done",
    "knowledge": "knowledge article used or written",
    "by_parent": "the major incident that caused this, or null",
    "automatically": "closed by the policy's auto_close_after, not by a person",
    "previous_priority": "the priority before",
    "tier": "the support tier it moved up to",
    "to": "who was notified",
    "text": "the comment's text",
    "visibility": "who sees it",
    "child": "the child incident's ref",
    "parent": "the major incident's ref",
    "audience": "who the communication went to",
    "message": "what was said",
    "summary": "what happened",
    "root_cause": "why it happened",
    "actions": "follow-up actions",
    "problem": "the problem record's ref",
    "name": "the SLA's name",
    "target_seconds": "the target, in seconds of business time",
    "calendar": "the business calendar's name in the pinned policy version",
    "pause_on": "hold reasons that pause the timer",
    "warn_at": "warning thresholds, percent of the target",
    "started_at": "the instant the timer runs from: the ticket's opening",
    "retroactive": "started by a priority change, computed over the whole history",
    "threshold": "the warning threshold reached, percent",
    "reached_at": "the instant the threshold was reached",
    "breached_at": "the instant the target was passed (the due time)",
    "version": "the policy version this event installs (1, 2, ...)",
    "document": "the policy in canonical form (docs/policy.md)",
    "digest": "SHA-256 of the canonical policy document",
    ("SlaTimerStarted", "kind"): "the SLA's kind",
    ("SlaTimerStarted", "policy_version"): "the policy version the timer is pinned to",
    ("CommunicationSent", "channel"): "how it was sent (free text), e.g. email",
    ("Reprioritized", "impact"): "the new impact, 1 (high) to 3 (low)",
    ("Reprioritized", "urgency"): "the new urgency, 1 (high) to 3 (low)",
    ("Reprioritized", "priority"): "the new priority, from the policy's matrix",
    ("FunctionallyEscalated", "assignment_group"): "the group of the new tier",
}

#: Fields whose values come from one of the domain's vocabularies.
ENUMS: dict[tuple[str, str], type[StrEnum]] = {
    ("TicketOpened", "kind"): TicketKind,
    ("TicketOpened", "channel"): Channel,
    ("PutOnHold", "hold_reason"): HoldReason,
    ("CommentAdded", "visibility"): Visibility,
    ("SlaTimerStarted", "kind"): SlaKind,
    ("SlaTimerStarted", "pause_on"): HoldReason,
}


#: The shapes a field had before the current class version (events keep the data they were
#: recorded with, so a line may still hold them): (type, field) → (schema, when).
EARLIER_SHAPES: dict[tuple[str, str], tuple[dict[str, Any], str]] = {
    ("PostIncidentReviewRecorded", "actions"): (
        {"type": "array", "items": {"type": "string"}},
        "before class version 3: each action its text alone",
    ),
}
#: Fields a later class version added: (type, field) → the version; older lines lack them.
ADDED_IN: dict[tuple[str, str], int] = {
    ("PostIncidentReviewRecorded", "contributing_factors"): 3,
    ("PostIncidentReviewRecorded", "went_well"): 3,
    ("PostIncidentReviewRecorded", "lessons"): 3,
}


def event_types() -> list[tuple[str, type[LedgerEvent], str]]:
    """(type name, class, stream) of every event, ticket events in the order they are
    defined, then the policy registry's, then names older stores used."""
    found: list[tuple[str, type[LedgerEvent], str]] = []
    for module, stream in ((facts, "ticket"), (policy_registry, "policy"), (legacy, "ticket")):
        for name, cls in vars(module).items():
            if (
                isinstance(cls, type)
                and issubclass(cls, LedgerEvent)
                and cls not in (LedgerEvent, facts.TicketEvent)
                and cls.__module__ == module.__name__
            ):
                found.append((name, cls, stream))
    return found


def _schema_of(annotation: Any, enum: type[StrEnum] | None = None) -> dict[str, Any]:
    """JSON Schema of a Python annotation (the kinds event fields use)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        members = [_schema_of(arg, enum) for arg in args]
        if all(set(member) <= {"type", "enum"} for member in members):
            names = [member["type"] for member in members]
            merged: dict[str, Any] = {"type": names}
            choices = [value for member in members for value in member.get("enum", [])]
            if choices:
                merged["enum"] = [*choices, None]
            return merged
        return {"anyOf": members}
    if origin is list:
        return {"type": "array", "items": _schema_of(args[0], enum)}
    if origin is dict:
        values = _schema_of(args[1]) if args[1] is not Any else None
        return {"type": "object", **({"additionalProperties": values} if values else {})}
    simple: dict[Any, dict[str, Any]] = {
        str: {"type": "string"},
        int: {"type": "integer"},
        bool: {"type": "boolean"},
        float: {"type": "number"},
        type(None): {"type": "null"},
        datetime: {"type": "string", "format": "date-time"},
        Any: {},
    }
    if annotation not in simple:
        raise TypeError(f"no JSON Schema for {annotation!r}: extend tools/gen_event_catalogue.py")
    schema = dict(simple[annotation])
    if enum is not None and annotation is str:
        schema["enum"] = [member.value for member in enum]
    return schema


def _describe(schema: dict[str, Any]) -> str:
    """The schema in words, for the catalogue's tables."""
    if "anyOf" in schema:
        return " or ".join(_describe(member) for member in schema["anyOf"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(_describe({**schema, "type": one}) for one in kind if one != "null") + (
            " or null" if "null" in kind else ""
        )
    if kind == "array":
        return f"list of {_describe(schema['items'])}"
    if kind == "string" and schema.get("format") == "date-time":
        return "instant (ISO 8601 with offset)"
    if kind == "string" and "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"] if value is not None)
    return str(kind or "any JSON value")


def _doc(cls: type) -> str:
    """The class's own docstring on one line ('' when it has none: dataclasses invent one)."""
    doc = cls.__dict__.get("__doc__") or ""
    if doc.startswith(f"{cls.__name__}("):
        return ""
    text = " ".join(doc.split()).replace("``", "`")
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)  # Sphinx roles as plain code


def _note(type_name: str, field: str) -> str:
    return FIELD_NOTES.get((type_name, field), FIELD_NOTES.get(field, ""))


def data_schema(type_name: str, cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties = {}
    for field in data_fields(cls):
        schema = _schema_of(hints[field], ENUMS.get((type_name, field)))
        notes = [_note(type_name, field)]
        if (type_name, field) in EARLIER_SHAPES:
            earlier, when = EARLIER_SHAPES[(type_name, field)]
            schema = {"anyOf": [schema, earlier]}
            notes.append(f"{when}")
        if (type_name, field) in ADDED_IN:
            notes.append(f"absent before class version {ADDED_IN[(type_name, field)]}")
        note = "; ".join(note for note in notes if note)
        properties[field] = {**({"description": note} if note else {}), **schema}
    return {
        "type": "object",
        "properties": properties,
        "required": [field for field in properties if (type_name, field) not in ADDED_IN],
        "additionalProperties": True,
    }


def schema(type_name: str, cls: type, stream: str) -> dict[str, Any]:
    """The JSON Schema of one event type's envelope."""
    nullable_text = {"type": ["string", "null"]}
    instant = {"type": "string", "format": "date-time"}
    properties: dict[str, Any] = {
        "format": {"description": "hash format of the line", "enum": [1, HASH_FORMAT]},
        "position": {"description": "place in the whole log", "type": "integer", "minimum": 1},
        "ticket": (
            {"description": "the policy registry's stream", "const": "policy"}
            if stream == "policy"
            else {"description": "the ticket's ref", "type": "string"}
        ),
        "type": {"const": type_name},
        "version": {"description": "number within its stream", "type": "integer", "minimum": 1},
        "occurred_at": {"description": "business time", **instant},
        "recorded_at": {"description": "wall-clock time it was stored", **instant},
        "actor": {"description": "who did it", "type": "string"},
        "reason": {"description": "why, when the command gave a reason", **nullable_text},
        "command_id": {"description": "the client's idempotency key", **nullable_text},
        "command_digest": {
            "description": "what the command_id is bound to (format 2)",
            **nullable_text,
        },
        "data": data_schema(type_name, cls),
        "source": {
            "description": "the source system's values, for imported history",
            "type": ["object", "null"],
        },
        "prev_hash": {"description": "hash of the previous event of the stream", "pattern": HEX64},
        "hash": {"description": "this event's hash (docs/hash-format.md)", "pattern": HEX64},
        "stream_id": {"description": "the stream (a UUID)", "type": "string", "format": "uuid"},
        "originator_topic": {
            "description": "format 1 only, on a stream's first event",
            "type": "string",
        },
    }
    required = [key for key in ENVELOPE_KEYS if key != "command_digest"]
    doc = _doc(cls)
    return {
        "$schema": DIALECT,
        "title": type_name,
        **({"description": doc} if doc else {}),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
        "if": {"properties": {"format": {"const": HASH_FORMAT}}},
        "then": {"required": ["command_digest"]},
    }


def _upcasts(cls: type) -> list[str]:
    """The upcasters of this type's own versions (LedgerEvent's, common to all, aside)."""
    return sorted(
        name
        for name in dir(cls)
        if name.startswith("upcast_v")
        and getattr(cls, name) is not getattr(LedgerEvent, name, None)
    )


def catalogue() -> str:
    """The catalogue region of docs/events.md."""
    lines = [
        "| type | stream | class version | what happened |",
        "|---|---|---|---|",
    ]
    entries = event_types()
    for name, cls, stream in entries:
        lines.append(
            f"| [`{name}`](#{name.lower()}) | {stream} | {cls.class_version} | "
            f"{_doc(cls).split('. ')[0].rstrip('.') or '—'} |"
        )
    for name, cls, stream in entries:
        lines += ["", f"### {name}", ""]
        lines.append(_doc(cls) or "_No description yet: give the event class a docstring._")
        lines.append("")
        about = [
            f"Stream: {stream}",
            f"class version {cls.class_version}",
            f"schema [`events/{name}.schema.json`](events/{name}.schema.json)",
        ]
        state = cls.enters() if issubclass(cls, facts.TicketEvent) else None
        if state is not None:
            about.append(f"the ticket is `{state}` after it")
        if cls.__module__ == legacy.__name__:
            about.append(f"written by older stores; read as `{cls.__bases__[0].__name__}`")
        upcasts = _upcasts(cls)
        if upcasts:
            about.append("older versions upcast by " + ", ".join(f"`{u}`" for u in upcasts))
        lines.append(" · ".join(about) + ".")
        properties = data_schema(name, cls)["properties"]
        lines.append("")
        if properties:
            lines += ["| data field | type | meaning |", "|---|---|---|"]
            for field, spec in properties.items():
                lines.append(f"| `{field}` | {_describe(spec)} | {spec.get('description', '')} |")
        else:
            lines.append("No data fields: the envelope says it all.")
    return "\n".join(lines)


def existing_schemas(root: Path) -> list[Path]:
    return sorted((root / SCHEMA_DIR).glob("*.schema.json"))


def outputs(root: Path) -> dict[Path, str]:
    """Every event type's schema file (the catalogue region of docs/events.md is filled by
    tools/gen_doc_tables.py)."""
    return {
        root / SCHEMA_DIR / f"{name}.schema.json": json.dumps(
            schema(name, cls, stream), indent=2, ensure_ascii=False
        )
        + "\n"
        for name, cls, stream in event_types()
    }
