"""The store's notification log read back: every event in position order, with its position.

The log is the one ordered record every reader follows: projections, the relay, ``export``
and ``verify``. :func:`read_log` pages through it; a stored event that cannot be decoded
stops the read with :class:`~engine.errors.UnreadableEventError` naming its position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper

from engine.chain import LedgerEvent
from engine.envelope import stored_line
from engine.errors import UnreadableEventError
from engine.loading import DECODING_ERRORS


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
    start = after
    while True:
        notifications = recorder.select_notifications(
            start, page, topics=topics, inclusive_of_start=False
        )
        for notification in notifications:
            try:
                event: Any = mapper.to_domain_event(notification)
            except DECODING_ERRORS as error:
                raise UnreadableEventError(
                    claimed_ref(notification.state), notification.id, str(error)
                ) from None
            if isinstance(event, LedgerEvent):
                yield LoggedEvent(notification.id, event)
        if len(notifications) < page:
            return
        start = notifications[-1].id


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
    decode = mapper.transcoder.decode
    start = after
    while True:
        notifications = recorder.select_notifications(start, page, inclusive_of_start=False)
        for notification in notifications:
            try:
                line = stored_line(
                    notification.topic,
                    decode(notification.state),
                    position=notification.id,
                    version=notification.originator_version,
                    stream_id=notification.originator_id,
                )
            except Exception as error:  # noqa: BLE001 - any unreadable record, named
                raise UnreadableEventError(
                    claimed_ref(notification.state), notification.id, str(error)
                ) from None
            yield line
        if len(notifications) < page:
            return
        start = notifications[-1].id


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
