"""The hash formats of exported event lines, as pure functions over the line's JSON object.

A *line* is one event of an export (``engine.envelope.Envelope.as_dict()``): ``format``,
``position``, ``ticket``, ``type``, ``version``, ``occurred_at``, ``recorded_at``, ``actor``,
``reason``, ``command_id``, ``data``, ``source``, ``prev_hash``, ``hash``, ``stream_id``.
docs/hash-format.md is the contract; in short:

* **Format 2** (events written from now on): ``hash`` is SHA-256 over the RFC 8785 canonical
  JSON (:func:`engine.canonical.canonical_json`) of the line without ``hash``, ``position``
  and ``version``. The store assigns the position after hashing; the version is left out on
  purpose, since ``prev_hash`` already fixes an event's place in its stream.
* **Format 1** (stores written before): SHA-256 over ``json.dumps(sort_keys=True,
  separators=(",", ":"), ensure_ascii=False)`` of the event's internal field names: the
  ``data`` members flat, plus ``ref``, ``originator_id``, ``timestamp``, ``occurred_at``,
  ``actor``, ``reason``, ``command_id``, ``source``, ``prev_hash`` and ``type`` — and
  ``originator_topic``, which a stream's first event carries.
* ``prev_hash`` links the events of a stream (:data:`GENESIS` before the first), and one more
  chain runs over the whole log in position order: :func:`chain_step`.

Every function raises :class:`ValueError` for a line it cannot hash (an unknown format, a
missing key, content with no canonical form); nothing here imports DeskLedger's domain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from engine.canonical import canonical_json, plain_json, quoted

#: ``prev_hash`` of a stream's first event, and the global chain's head before any event.
GENESIS = "0" * 64

#: The hash formats :func:`line_hash` knows.
FORMATS = (1, 2)

#: Format 2: the keys of a line that its hash does not cover.
UNHASHED = frozenset({"hash", "position", "version"})

#: Format 1: line key -> the internal field name it was hashed under (besides ``data``).
_V1_RENAMED = {
    "ticket": "ref",
    "stream_id": "originator_id",
    "recorded_at": "timestamp",
    "occurred_at": "occurred_at",
    "actor": "actor",
    "reason": "reason",
    "command_id": "command_id",
    "source": "source",
    "prev_hash": "prev_hash",
    "type": "type",
}
_V1_TOPIC = "originator_topic"
#: Format 1: every key a line may carry (the hash covers only some of them).
_V1_KEYS = frozenset({*_V1_RENAMED, "data", "format", "position", "version", "hash", _V1_TOPIC})
#: Format 1: names a ``data`` member must not take: the envelope's value would hide it.
_V1_RESERVED = frozenset({*_V1_RENAMED.values(), _V1_TOPIC})


def line_format(line: Mapping[str, Any]) -> int:
    """The line's hash format (1 or 2); ValueError when it is missing or unknown."""
    value = line.get("format")
    if type(value) is not int or value not in FORMATS:
        raise ValueError(f"unknown hash format {value!r} (this code knows formats 1 and 2)")
    return value


def hashed_content(line: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object whose encoding the line's ``hash`` is taken over, by its format."""
    if line_format(line) == 2:
        return {key: value for key, value in line.items() if key not in UNHASHED}
    return _v1_content(line)


def _v1_content(line: Mapping[str, Any]) -> dict[str, Any]:
    unknown = line.keys() - _V1_KEYS
    if unknown:
        # Format 1 cannot cover them: whatever they say would go unverified.
        raise ValueError(f"format-1 line carries keys its hash does not cover: {sorted(unknown)}")
    data = line.get("data")
    if not isinstance(data, Mapping):
        raise ValueError("format-1 line has no 'data' object")  # noqa: TRY004 - one error kind
    hidden = data.keys() & _V1_RESERVED
    if hidden:
        raise ValueError(
            f"format-1 'data' has members named like envelope fields: {sorted(hidden)}"
        )
    content = dict(data)
    try:
        for key, name in _V1_RENAMED.items():
            content[name] = line[key]
    except KeyError as error:
        raise ValueError(f"format-1 line lacks {error.args[0]!r}") from None
    if _V1_TOPIC in line:
        content[_V1_TOPIC] = line[_V1_TOPIC]
    return content


#: Format 2: every key of a line as DeskLedger writes it (the shape :func:`_v2_usual` knows).
_V2_USUAL_KEYS = frozenset(
    {
        "format", "position", "ticket", "type", "version", "occurred_at", "recorded_at",
        "actor", "reason", "command_id", "command_digest", "data", "source", "prev_hash",
        "hash", "stream_id",
    }
)  # fmt: skip


def _v2_usual(line: Mapping[str, Any]) -> str | None:
    """The canonical JSON of a format-2 line's hashed content, written member by member in
    JCS order, when the line has the usual shape: the keys DeskLedger writes, text or null
    in the envelope's text fields and ``data`` and ``source`` objects of plain JSON values.
    None for any other line (:func:`canonical_json` then encodes it, or says why not)."""
    if line.keys() != _V2_USUAL_KEYS or line["format"] != 2 or type(line["format"]) is not int:
        return None
    return v2_content(
        actor=line["actor"],
        command_digest=line["command_digest"],
        command_id=line["command_id"],
        data=line["data"],
        occurred_at=line["occurred_at"],
        prev_hash=line["prev_hash"],
        reason=line["reason"],
        recorded_at=line["recorded_at"],
        source=line["source"],
        stream_id=line["stream_id"],
        ticket=line["ticket"],
        type_name=line["type"],
    )


def v2_content(
    *,
    actor: Any,
    command_digest: Any,
    command_id: Any,
    data: Any,
    occurred_at: Any,
    prev_hash: Any,
    reason: Any,
    recorded_at: Any,
    source: Any,
    stream_id: Any,
    ticket: Any,
    type_name: Any,
) -> str | None:
    """The canonical JSON of a format-2 event's hashed content from its values, written
    member by member in JCS order: text or null for the envelope's text fields, ``data``
    and ``source`` (or null) objects of plain JSON values. None for other values (the
    event's line then goes through :func:`canonical_json`). A new event is hashed from its
    values this way before it is built (:func:`engine.chain.sealed`)."""
    if type(data) is not dict or (source is not None and type(source) is not dict):
        return None
    try:
        members = (
            '{"actor":', quoted(actor),
            ',"command_digest":', quoted(command_digest),
            ',"command_id":', quoted(command_id),
            ',"data":', plain_json(data),
            ',"format":2,"occurred_at":', quoted(occurred_at),
            ',"prev_hash":', quoted(prev_hash),
            ',"reason":', quoted(reason),
            ',"recorded_at":', quoted(recorded_at),
            ',"source":', "null" if source is None else plain_json(source),
            ',"stream_id":', quoted(stream_id),
            ',"ticket":', quoted(ticket),
            ',"type":', quoted(type_name),
            "}",
        )  # fmt: skip
    except TypeError:
        return None
    return "".join(members)


def canonical_hash(text: str) -> str:
    """The hash of a line whose hashed content has the canonical JSON ``text``: SHA-256
    (hex) of its UTF-8; UnicodeEncodeError when ``text`` holds a lone surrogate."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(content: str) -> str | None:
    """:func:`canonical_hash`, or None when ``content`` holds a lone surrogate (no UTF-8
    form: :func:`canonical_json` says why)."""
    try:
        return canonical_hash(content)
    except UnicodeEncodeError:
        return None


def line_hash(line: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) the line's ``hash`` must equal, computed as its ``format`` says."""
    usual = _v2_usual(line)
    if usual is not None:
        digest = content_hash(usual)
        if digest is not None:
            return digest
    content = hashed_content(line)
    if line["format"] == 2:
        encoded = canonical_json(content)
    else:
        try:
            text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            encoded = text.encode("utf-8")
        except (TypeError, UnicodeEncodeError) as error:
            raise ValueError(f"format-1 content cannot be encoded: {error}") from None
    return hashlib.sha256(encoded).hexdigest()


def chain_step(head: str, position: int, digest: str) -> str:
    """The global chain's next head: SHA-256 of ``"<head>:<position>:<hash>"`` (hex)."""
    return hashlib.sha256(f"{head}:{position}:{digest}".encode()).hexdigest()
