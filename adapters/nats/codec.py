"""The envelope on the wire: stored notification → envelope line → message, and back.

Reading builds each event's envelope line straight from its stored record, as ``export``
does: the same JSON object the export writes and the event's hash covers — for an upcast
event, what was recorded. A record of the usual shape is written from its stored text
(:func:`engine.record_shapes.shaped_line`); any other is decoded the way eventsourcing's
mapper does (its cipher and compressor when the store has them, then its transcoder) and
its line built from the state (:func:`engine.envelope.stored_line`). No domain event is
built: with the JSON decoding, that was half of the relay's time. The record's topic must still
name a class this code knows (checked once per topic). A notification that does not decode is
an :class:`~engine.errors.UnreadableEventError` naming its ticket and position; the relay
stops there.

:class:`LogReader` also yields, for every notification, the digest the log-wide hash chain
steps over (:func:`engine.audit.chain_step`): the event's ``hash`` — for a stored record that
is not a DeskLedger event, the SHA-256 of its stored bytes, as ``verify`` does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError, Notification
from eventsourcing.utils import TopicError, resolve_topic

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
from engine.envelope import Envelope, line_json, stored_line
from engine.errors import UnreadableEventError
from engine.log import state_reader
from engine.record_shapes import shaped_line

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


class Outgoing(NamedTuple):
    """One message ready to publish."""

    position: int
    subject: str
    headers: dict[str, str]
    body: bytes


class Relayed(NamedTuple):
    """What the relay sends of one event: the fields of its subject and headers, as text,
    and its message body (its envelope line as compact JSON)."""

    ticket: str
    type: str
    occurred_at: str
    policy: bool  # a policy registry event (its own subject family)
    body: bytes


def relayed(line: Mapping[str, Any]) -> Relayed:
    """The message of one event's envelope line (its
    :meth:`~engine.envelope.Envelope.as_dict`, or the line :func:`stored_line` reads)."""
    return Relayed(
        line["ticket"],
        line["type"],
        line["occurred_at"],
        is_policy_stream(line["stream_id"]),
        line_json(line).encode(),
    )


def outgoing(position: int, event: Relayed, store_id: str) -> Outgoing:
    """The subject, §13 headers and body of the event at ``position``."""
    ticket, type_name = event.ticket, event.type
    return Outgoing(
        position,
        subject_for(ticket, type_name, policy=event.policy),
        {
            HEADER_MSG_ID: f"{store_id}:{position}",  # subjects.event_msg_id, inlined: hot
            HEADER_POSITION: str(position),
            HEADER_EVENT_TYPE: type_name,
            HEADER_TICKET: ticket,
            HEADER_OCCURRED_AT: event.occurred_at,
        },
        event.body,
    )


def encode(line: Mapping[str, Any], store_id: str) -> Outgoing:
    """The message of one event's envelope line, ready to publish."""
    return outgoing(line["position"], relayed(line), store_id)


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
    """One notification of the log: its message (``None`` if not relayed) and chain digest."""

    position: int
    event: Relayed | None
    digest: str

    @property
    def ticket(self) -> str | None:
        return None if self.event is None else self.event.ticket


class _Kind(NamedTuple):
    """A topic of the log: whether it is a ledger event's, and the type name the export
    gives its events."""

    ledger: bool
    type: str


class LogPage(NamedTuple):
    """Entries read, and the error of the unreadable notification that ended the page."""

    entries: list[LogEntry]
    unreadable: UnreadableEventError | None


class LogReader:
    """Reads the log in position order as :class:`LogEntry` values."""

    page_size = 1000

    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self._refs: dict[UUID, str] = {}
        self._kinds: dict[str, _Kind] = {}

    def read(self, after: int, limit: int) -> LogPage:
        """Up to ``limit`` entries after position ``after``, stopping before the first
        notification that does not decode (returned as the page's ``unreadable``)."""
        notifications = self._desk.recorder.select_notifications(
            after, limit, inclusive_of_start=False
        )
        mapper = self._desk.mapper
        state_of = state_reader(mapper)
        plain = mapper.cipher is None and mapper.compressor is None
        entries: list[LogEntry] = []
        for notification in notifications:
            topic, position = notification.topic, notification.id
            try:
                kind = self._kinds.get(topic) or self._kind(topic)
                if kind.ledger:
                    stream_id = str(notification.originator_id)
                    fast = None
                    if plain:  # a record of the usual shape is written from its stored text
                        fast = shaped_line(
                            topic, notification.state, position,
                            notification.originator_version, stream_id,
                        )  # fmt: skip
                    if fast is not None:
                        body = fast.text[:-1].encode()  # the line without its newline
                        event = Relayed(
                            fast.ticket, kind.type, fast.occurred_at,
                            is_policy_stream(stream_id), body,
                        )  # fmt: skip
                        entries.append(LogEntry(position, event, fast.hash))
                        continue
                    line = stored_line(
                        topic,
                        state_of(notification.state),
                        position=position,
                        version=notification.originator_version,
                        stream_id=stream_id,
                    )
                    entries.append(LogEntry(position, relayed(line), line["hash"]))
                else:
                    digest = hashlib.sha256(notification.state).hexdigest()
                    entries.append(LogEntry(position, None, digest))
            except DECODING_ERRORS as error:
                return LogPage(entries, self._unreadable(notification, error))
        return LogPage(entries, None)

    def _kind(self, topic: str) -> _Kind:
        """What a topic is (TopicError when it names no class this code knows)."""
        kind = _Kind(
            issubclass(resolve_topic(topic), LedgerEvent),
            topic.rpartition(":")[2].rpartition(".")[2],
        )
        self._kinds[topic] = kind
        return kind

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
