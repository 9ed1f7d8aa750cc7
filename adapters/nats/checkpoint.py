"""Checkpoint messages: the log's chain head, anchored outside the store.

The relay publishes, on ``deskledger.checkpoint.<store id>``, the head of the log-wide hash
chain (:func:`engine.audit.chain_step`: ``head_0 = "0" * 64``,
``head_n = sha256_hex(f"{head_(n-1)}:{position}:{hash_n}")``) every N events, at least once a
minute while events flow, and at the end of ``relay --once``. Any subscriber — an auditor's,
a SIEM's — thereby keeps an independent record of what the log held, which ``verify`` can
later be checked against.

Body (JSON)::

    {"format": 1, "store_id": "…", "position": 1000, "head": "<64 hex>", "taken_at": "…"}

Headers: ``Nats-Msg-Id`` = ``<store id>:checkpoint:<position>`` (so publishing the same
checkpoint twice stores it once), ``DeskLedger-Position``, ``DeskLedger-Chain-Head``,
``DeskLedger-Store`` and ``DeskLedger-Event-Hash`` (the hash of the event at that position,
which lets the relay check a checkpoint against its log without recomputing the chain).
There is no ``DeskLedger-Event-Type``: a checkpoint is not an event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from adapters.nats.codec import Outgoing
from adapters.nats.subjects import (
    HEADER_CHAIN_HEAD,
    HEADER_EVENT_HASH,
    HEADER_MSG_ID,
    HEADER_POSITION,
    HEADER_STORE,
    checkpoint_msg_id,
    checkpoint_subject,
)

CHECKPOINT_FORMAT = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Checkpoint:
    """The chain head of store ``store_id`` after the event at ``position``."""

    store_id: str
    position: int
    head: str
    taken_at: str
    event_hash: str | None = None  # from the header; not part of the body

    def body(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "store_id": self.store_id,
            "position": self.position,
            "head": self.head,
            "taken_at": self.taken_at,
        }

    def to_message(self) -> Outgoing:
        headers = {
            HEADER_MSG_ID: checkpoint_msg_id(self.store_id, self.position),
            HEADER_POSITION: str(self.position),
            HEADER_CHAIN_HEAD: self.head,
            HEADER_STORE: self.store_id,
        }
        if self.event_hash is not None:
            headers[HEADER_EVENT_HASH] = self.event_hash
        body = json.dumps(self.body(), separators=(",", ":")).encode()
        return Outgoing(self.position, checkpoint_subject(self.store_id), headers, body)

    @classmethod
    def from_message(cls, data: bytes, headers: Mapping[str, str] | None) -> Self:
        """Read a checkpoint message; ``ValueError`` saying what is wrong with it."""
        try:
            body = json.loads(data)
            checkpoint = cls.from_body(body, event_hash=(headers or {}).get(HEADER_EVENT_HASH))
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a checkpoint message: {error!r}") from None
        return checkpoint

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, event_hash: str | None = None) -> Self:
        if body.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"unknown checkpoint format {body.get('format')!r}")
        position, head = body["position"], body["head"]
        if not isinstance(position, int) or position < 1 or not _HEX64.match(str(head)):
            raise ValueError(f"not a checkpoint: position {position!r}, head {head!r}")
        return cls(str(body["store_id"]), position, str(head), str(body["taken_at"]), event_hash)


def is_checkpoint(headers: Mapping[str, str] | None) -> bool:
    """Whether a message with these headers is a checkpoint (not an event)."""
    return headers is not None and HEADER_CHAIN_HEAD in headers
