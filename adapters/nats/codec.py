"""The envelope on the wire: stored notification → :class:`Envelope` → message, and back.

Reading goes through eventsourcing's mapper (``desk.mapper.to_domain_event``), the one
decoder of stored events: whatever the store is configured with (a cipher, a compressor, an
upcast class version, custom transcodings) the relay publishes what the engine reads. A
notification that does not decode is an :class:`~engine.errors.UnreadableEventError` naming
its ticket and position; the relay stops there.

:class:`LogReader` also yields, for every notification, the digest the log-wide hash chain
steps over (:func:`engine.audit.chain_step`): the event's ``hash`` — for a stored record that
is not a DeskLedger event, the SHA-256 of its stored bytes, as ``verify`` does.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError, Notification
from eventsourcing.utils import TopicError

from adapters.nats.subjects import (
    HEADER_EVENT_TYPE,
    HEADER_MSG_ID,
    HEADER_OCCURRED_AT,
    HEADER_POSITION,
    HEADER_TICKET,
    is_policy_stream,
    subject_for,
)
from engine.audit import chain_step
from engine.chain import LedgerEvent
from engine.envelope import Envelope, envelope_of
from engine.errors import UnreadableEventError

if TYPE_CHECKING:
    from engine.application import Desk

#: Decoding failures that mean "this stored record is not a readable event".
DECODING_ERRORS: tuple[type[Exception], ...] = (
    MapperDeserialisationError,
    TopicError,
    AttributeError,
    KeyError,
    TypeError,
    ValueError,
)

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


class Outgoing(NamedTuple):
    """One message ready to publish."""

    position: int
    subject: str
    headers: dict[str, str]
    body: bytes


def encode(envelope: Envelope, store_id: str) -> Outgoing:
    """The subject, §13 headers and JSON body of one event's envelope."""
    position, ticket, type_name = envelope.position, envelope.ticket, envelope.type
    return Outgoing(
        position,
        subject_for(ticket, type_name, policy=is_policy_stream(envelope.stream_id)),
        {
            HEADER_MSG_ID: f"{store_id}:{position}",  # subjects.event_msg_id, inlined: hot
            HEADER_POSITION: str(position),
            HEADER_EVENT_TYPE: type_name,
            HEADER_TICKET: ticket,
            HEADER_OCCURRED_AT: envelope.occurred_at,
        },
        _JSON.encode(envelope.as_dict()).encode(),
    )


def decode(body: bytes | str) -> Envelope:
    """The envelope in a message body (``KeyError``/``ValueError`` if it is not one)."""
    return Envelope.from_json(body)


#: More than the header block of any message the relay sends (a ref is at most 64 characters).
HEADER_ALLOWANCE = 1024


def wire_size(outgoing: Outgoing, extra_headers: dict[str, str] | None = None) -> int:
    """Bytes the server counts against ``max_payload``: the header block plus the body."""
    headers = {**outgoing.headers, **(extra_headers or {})}
    block = 12 + sum(len(k) + len(v.encode()) + 4 for k, v in headers.items())  # NATS/1.0…
    return block + len(outgoing.body)


def too_large(outgoing: Outgoing, max_payload: int, extra_headers: dict[str, str]) -> int | None:
    """The message's size if it exceeds ``max_payload``, else None (cheap for small ones)."""
    if len(outgoing.body) + HEADER_ALLOWANCE <= max_payload:
        return None
    size = wire_size(outgoing, extra_headers)
    return size if size > max_payload else None


class LogEntry(NamedTuple):
    """One notification of the log: its envelope (``None`` if not relayed) and chain digest."""

    position: int
    envelope: Envelope | None
    digest: str


class LogPage(NamedTuple):
    """Entries read, and the error of the unreadable notification that ended the page."""

    entries: list[LogEntry]
    unreadable: UnreadableEventError | None


class LogReader:
    """Reads the log in position order as :class:`LogEntry` values, through the mapper."""

    page_size = 1000

    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self._refs: dict[UUID, str] = {}

    def read(self, after: int, limit: int) -> LogPage:
        """Up to ``limit`` entries after position ``after``, stopping before the first
        notification that does not decode (returned as the page's ``unreadable``)."""
        notifications = self._desk.recorder.select_notifications(
            after, limit, inclusive_of_start=False
        )
        mapper = self._desk.mapper
        entries: list[LogEntry] = []
        for notification in notifications:
            try:
                event: Any = mapper.to_domain_event(notification)
                if isinstance(event, LedgerEvent):
                    envelope = envelope_of(event, notification.id)
                    entries.append(LogEntry(notification.id, envelope, envelope.hash))
                else:
                    digest = hashlib.sha256(notification.state).hexdigest()
                    entries.append(LogEntry(notification.id, None, digest))
            except DECODING_ERRORS as error:
                return LogPage(entries, self._unreadable(notification, error))
        return LogPage(entries, None)

    def _unreadable(self, notification: Notification, error: Exception) -> UnreadableEventError:
        """The error for an undecodable notification, naming its ticket if any of the
        stream's other events says which one it is."""
        stream = UUID(str(notification.originator_id))
        ref = self._refs.get(stream) or self._ref_of(stream) or f"(stream {stream})"
        cause = f"{type(error).__name__}: {error}"
        return UnreadableEventError(ref, notification.id, cause)

    def _ref_of(self, stream: UUID) -> str | None:
        for stored in self._desk.recorder.select_events(stream, limit=50):
            try:
                event = self._desk.mapper.to_domain_event(stored)
            except DECODING_ERRORS:
                continue
            ref = getattr(event, "ref", None)
            if isinstance(ref, str):
                self._refs[stream] = ref
                return ref
        return None

    def chain(self, head: str, after: int, until: int) -> str:
        """The chain head at ``until``, stepping from ``head`` (the head at ``after``)."""
        while after < until:
            page = self.read(after, min(self.page_size, until - after))
            for entry in page.entries:
                if entry.position > until:
                    return head
                head = chain_step(head, entry.position, entry.digest)
                after = entry.position
            if page.unreadable is not None:
                raise page.unreadable
            if not page.entries:
                break
        return head
