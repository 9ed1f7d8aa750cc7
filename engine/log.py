"""The store's notification log read back: every event in position order, with its position.

The log is the one ordered record every reader follows: projections, the relay, ``export``
and ``verify``. :func:`read_log` pages through it; a stored event that cannot be decoded
stops the read with :class:`~engine.errors.UnreadableEventError` naming its position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    Mapper,
    MapperDeserialisationError,
    Notification,
)

from engine.chain import LedgerEvent
from engine.envelope import line_text, stored_line
from engine.errors import UnreadableEventError
from engine.loading import DECODING_ERRORS
from engine.record_shapes import export_line


@dataclass(frozen=True)
class LoggedEvent:
    """An event together with its position in the store's log."""

    position: int
    event: LedgerEvent


def read_log(
    recorder: ApplicationRecorder,
    mapper: Mapper[UUID],
    after: int = 0,
    *,
    page: int = 1000,
    topics: tuple[str, ...] = (),
) -> Iterator[LoggedEvent]:
    """Every DeskLedger event after position ``after``, in position order."""
    for notifications in pages(recorder, after, page, topics=topics):
        for notification in notifications:
            try:
                event: Any = mapper.to_domain_event(notification)
            except DECODING_ERRORS as error:
                raise UnreadableEventError(
                    claimed_ref(notification.state), notification.id, str(error)
                ) from None
            if isinstance(event, LedgerEvent):
                yield LoggedEvent(notification.id, event)


def pages(
    recorder: ApplicationRecorder,
    after: int,
    page: int,
    *,
    topics: tuple[str, ...] = (),
    until: int | None = None,
) -> Iterator[Sequence[Notification]]:
    """The stored records after position ``after`` (up to ``until``), ``page`` at a time:
    what every reader of the whole log pages through."""
    start = after
    while True:
        notifications = recorder.select_notifications(
            start, page, stop=until, topics=topics, inclusive_of_start=False
        )
        if notifications:
            yield notifications
        if len(notifications) < page:
            return
        start = notifications[-1].id


def state_reader(mapper: Mapper[UUID]) -> Callable[[bytes], Any]:
    """Stored bytes → the recorded state, as ``mapper.to_domain_event`` decodes them (its
    cipher, then its compressor, then its transcoder), without building the event: what
    every reader of stored records (export, verify, the relay) decodes them with."""
    decode = mapper.transcoder.decode
    if mapper.cipher is None and mapper.compressor is None:
        return decode
    cipher, compressor = mapper.cipher, mapper.compressor

    def read(stored: bytes) -> Any:
        try:
            if cipher is not None:
                stored = cipher.decrypt(stored)
            if compressor is not None:
                stored = compressor.decompress(stored)
        except Exception as error:  # the mapper's own wrapping of any failure here
            raise MapperDeserialisationError(str(error)) from error
        return decode(stored)

    return read


def record_line(
    notification: Notification, decode: Callable[[bytes], Any]
) -> tuple[dict[str, Any] | None, Exception | None]:
    """A stored record's export line (``docs/hash-format.md``), read straight from the
    stored JSON with the store's ``decode``; or, when it cannot be read, the error."""
    try:
        line = stored_line(
            notification.topic,
            decode(notification.state),
            position=notification.id,
            version=notification.originator_version,
            stream_id=notification.originator_id,
        )
    except Exception as error:  # noqa: BLE001 - any unreadable record, handed on
        return None, error
    return line, None


def stored_records(
    recorder: ApplicationRecorder, mapper: Mapper[UUID], after: int = 0, *, page: int = 2000
) -> Iterator[tuple[Notification, dict[str, Any] | None, Exception | None]]:
    """Every stored record after ``after`` with its export line (:func:`record_line`); a
    record that cannot be read comes with the error instead of a line (the caller decides
    whether that stops it)."""
    decode = state_reader(mapper)
    for notifications in pages(recorder, after, page):
        for notification in notifications:
            yield notification, *record_line(notification, decode)


def export_lines(
    recorder: ApplicationRecorder,
    mapper: Mapper[UUID],
    after: int = 0,
    *,
    page: int = 2000,
) -> Iterator[dict[str, Any]]:
    """Every stored event after ``after`` as its export line (``docs/hash-format.md``), read
    straight from the stored records, in position order. A record that cannot be read stops
    the read with :class:`~engine.errors.UnreadableEventError` naming its position."""
    for notification, line, error in stored_records(recorder, mapper, after, page=page):
        if line is None:
            raise UnreadableEventError(
                claimed_ref(notification.state), notification.id, str(error)
            ) from None
        yield line


def export_texts(
    recorder: ApplicationRecorder, mapper: Mapper[UUID], after: int = 0, *, page: int = 2000
) -> Iterator[tuple[Any, str]]:
    """Every stored event after ``after`` as its ``occurred_at`` and its line as the export
    writes it (:func:`~engine.envelope.line_text`, newline included), in position order.

    The same lines as :func:`export_lines`, written straight from the stored text when the
    record has the usual shape (:mod:`engine.record_shapes`); a record that cannot be read
    stops the read with :class:`~engine.errors.UnreadableEventError` naming its position."""
    decode = state_reader(mapper)
    for notifications in pages(recorder, after, page):
        for notification in notifications:
            found = export_line(
                notification.topic,
                notification.state,
                notification.id,
                notification.originator_version,
                str(notification.originator_id),
            )
            if found is None:
                line, error = record_line(notification, decode)
                if line is None:
                    raise UnreadableEventError(
                        claimed_ref(notification.state), notification.id, str(error)
                    ) from None
                found = line["occurred_at"], line_text(line)
            yield found


def store_id(recorder: ApplicationRecorder) -> str:
    """A stable id of a store: derived from the hash of the first event in its log."""
    first = recorder.select_notifications(None, 1)
    if not first:
        return "empty"
    return hashlib.sha256(first[0].state).hexdigest()[:16]


def claimed_ref(state: object) -> str:
    """The ``ref`` a damaged event claims, if that much can be read; else "(unknown)"."""
    if not isinstance(state, bytes):
        return "(unknown)"
    marker = b'"ref":"'
    start = state.find(marker)
    if start < 0:
        return "(unknown)"
    end = state.find(b'"', start + len(marker))
    name = state[start + len(marker) : end].decode("utf-8", "replace")
    return name if 0 < len(name) <= 64 else "(unknown)"
