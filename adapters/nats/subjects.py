"""Subjects and headers on the wire (docs/nats.md), and the subject names DeskLedger reserves.

Everything lives under ``deskledger.``, in three families that never overlap:

* ``deskledger.ticket.<ref>.<EventType>``: a ticket's events (a ref is letters, digits, ``-``
  and ``_``, so it is always exactly one token);
* ``deskledger.policy.<EventType>``: the policy registry's events;
* ``deskledger.checkpoint.<store id>``: the log's chain head, anchored by the relay.

A subscriber that wants events takes :data:`EVENT_SUBJECTS`; ``deskledger.>`` also matches
checkpoints. Which family an event belongs to is decided by its stream id (the policy
registry's is fixed), never by its ref: a ticket whose ref happens to be ``policy`` still
publishes under ``deskledger.ticket.``.
"""

from __future__ import annotations

from functools import cache
from uuid import UUID

from adapters.nats.errors import RelayStreamError
from engine.ids import policy_registry_id

DEFAULT_STREAM = "DESKLEDGER"
#: Characters JetStream refuses in a stream name (besides non-printable ones).
_NOT_IN_STREAM_NAMES = frozenset(".*>/\\ ")
#: File storage keeps a stream in a directory named after it.
_STREAM_NAME_BYTES = 255
SUBJECT_ROOT = "deskledger"
TICKET_FAMILY = "ticket"
POLICY_FAMILY = "policy"
CHECKPOINT_FAMILY = "checkpoint"
#: The second tokens DeskLedger uses under ``deskledger.``; nothing else may publish there.
RESERVED_FAMILIES = frozenset({TICKET_FAMILY, POLICY_FAMILY, CHECKPOINT_FAMILY})

#: What the stream captures.
STREAM_SUBJECTS = (f"{SUBJECT_ROOT}.>",)
#: Every event and nothing else (the default filter of subscribers).
EVENT_SUBJECTS = (f"{SUBJECT_ROOT}.{TICKET_FAMILY}.>", f"{SUBJECT_ROOT}.{POLICY_FAMILY}.>")
#: Every store's checkpoints.
CHECKPOINT_SUBJECTS = f"{SUBJECT_ROOT}.{CHECKPOINT_FAMILY}.>"

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
HEADER_POSITION = "DeskLedger-Position"
HEADER_EVENT_TYPE = "DeskLedger-Event-Type"
HEADER_TICKET = "DeskLedger-Ticket"
HEADER_OCCURRED_AT = "DeskLedger-Occurred-At"
#: On checkpoints only: the chain head, the store, and the hash of the event at the position.
HEADER_CHAIN_HEAD = "DeskLedger-Chain-Head"
HEADER_STORE = "DeskLedger-Store"
HEADER_EVENT_HASH = "DeskLedger-Event-Hash"


def check_stream_name(name: str) -> str:
    """``name`` if JetStream accepts it as a stream name; else :class:`RelayStreamError`
    (before anything connects)."""
    if not name:
        raise RelayStreamError("stream name is empty")
    bad = sorted({c for c in name if c in _NOT_IN_STREAM_NAMES or not c.isprintable()})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise RelayStreamError(f"stream name {name!r} contains {shown}: use letters and digits")
    if len(name.encode("utf-8", "surrogatepass")) > _STREAM_NAME_BYTES:
        raise RelayStreamError(f"stream name is longer than {_STREAM_NAME_BYTES} bytes")
    return name


@cache
def _policy_stream_id() -> str:
    return str(policy_registry_id())


def is_policy_stream(stream_id: str | UUID) -> bool:
    """Whether events of this stream id are the policy registry's (not a ticket's)."""
    return str(stream_id) == _policy_stream_id()


def subject_for(ref: str, type_name: str, *, policy: bool = False) -> str:
    """``deskledger.ticket.<ref>.<EventType>``; policy events: ``deskledger.policy.<Type>``."""
    if policy:
        return f"{SUBJECT_ROOT}.{POLICY_FAMILY}.{type_name}"
    return f"{SUBJECT_ROOT}.{TICKET_FAMILY}.{ref}.{type_name}"


def checkpoint_subject(store_id: str) -> str:
    """``deskledger.checkpoint.<store id>``."""
    return f"{SUBJECT_ROOT}.{CHECKPOINT_FAMILY}.{store_id}"


def event_msg_id(store_id: str, position: int) -> str:
    return f"{store_id}:{position}"


def checkpoint_msg_id(store_id: str, position: int) -> str:
    return f"{store_id}:{CHECKPOINT_FAMILY}:{position}"
