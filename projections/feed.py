"""What projections are fed: decoded events with their tracking, in position order.

A stored event that cannot be decoded is fed as :class:`Unreadable` (its position, and the
ticket it claims if that much can be read), so projections record the damage and go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification, Tracking

from engine.loading import DECODING_ERRORS
from engine.log import claimed_ref, pages


@dataclass(frozen=True)
class Unreadable:
    """A stored event that cannot be decoded."""

    ref: str
    stream_id: str
    reason: str


Item = tuple[Any, Tracking]


def read_items(
    recorder: ApplicationRecorder,
    mapper: Mapper[UUID],
    application: str,
    after: int,
    *,
    page: int = 2000,
    until: int | None = None,
) -> Iterator[list[Item]]:
    """Pages of decoded events after position ``after`` (up to ``until``)."""
    for notifications in pages(recorder, after, page, until=until):
        yield [item(mapper, application, notification) for notification in notifications]


def item(mapper: Mapper[UUID], application: str, notification: Notification) -> Item:
    """One stored record decoded (:class:`Unreadable` if it cannot be), with its tracking."""
    try:
        event: Any = mapper.to_domain_event(notification)
    except DECODING_ERRORS as error:
        event = Unreadable(
            claimed_ref(notification.state), str(notification.originator_id), str(error)
        )
    return event, Tracking(application, notification.id)
