"""The bare baselines: plain eventsourcing doing the same storage work without DeskLedger.

* :class:`BareApp` is an eventsourcing ``Application`` over the same store settings as the
  desk (``adapters.stores.store_env``), whose :class:`Record` aggregate stores events with a
  single text payload. Given the sizes of DeskLedger's stored events, :func:`padding` sizes the
  payloads so each bare event is stored with as many bytes: a bare ``open`` saves three events
  as big as a ticket opening and its two SLA timers, a bare update one as big as a comment.
* :func:`bare_decode` reads a store's log the way every reader starts:
  ``recorder.select_notifications`` a page at a time and ``mapper.to_domain_event`` for each,
  doing nothing with the events. Rebuild, verify and export are compared with it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from adapters.stores import store_env


class Record(Aggregate):
    """A bare aggregate: created with a payload, then noted with more."""

    @event("Created")
    def __init__(self, payload: str) -> None:
        self.size = len(payload)

    @event("Noted")
    def note(self, payload: str) -> None:
        self.size += len(payload)


class BareApp(Application[UUID]):
    name = "BareBench"

    def create(self, payloads: Sequence[str]) -> UUID:
        """One aggregate, one event per payload, saved in one transaction."""
        record = self._build(payloads)
        self.save(record)
        return record.id

    def update(self, record_id: UUID, payload: str) -> None:
        """Load, add one event, save (one transaction)."""
        record: Record = self.repository.get(record_id)
        record.note(payload)
        self.save(record)

    def create_many(self, streams: Sequence[Sequence[str]]) -> int:
        """Many aggregates saved together in one transaction (a bulk unit of work)."""
        records = [self._build(payloads) for payloads in streams]
        recordings = self.save(*records)
        return len(recordings)

    @staticmethod
    def _build(payloads: Sequence[str]) -> Record:
        record = Record(payloads[0])
        for payload in payloads[1:]:
            record.note(payload)
        return record


def open_bare(url: str) -> BareApp:
    """The bare app on the desk's store settings, with eventsourcing's own recorder (DeskLedger
    swaps in its own for PostgreSQL: :mod:`adapters.postgres`, part of what is measured)."""
    env = store_env(url)
    env.pop("APPLICATION_RECORDER_TOPIC", None)
    return BareApp(env)


def overhead(app: BareApp) -> dict[str, int]:
    """Stored bytes of a bare event with an empty payload, by kind (created, noted)."""
    record = Record("")
    record.note("")
    created, noted = (app.mapper.to_stored_event(e) for e in record.collect_events())
    return {"created": len(created.state), "noted": len(noted.state)}


def padding(size: float, kind: str, app: BareApp) -> str:
    """A payload that makes a bare ``kind`` event about ``size`` stored bytes."""
    return "x" * max(0, round(size) - overhead(app)[kind])


def payloads_like(sizes: Sequence[int], app: BareApp) -> list[str]:
    """Payloads for one bare stream whose stored events match ``sizes`` (first is created)."""
    base = overhead(app)
    return [
        "x" * max(0, size - base["created" if k == 0 else "noted"]) for k, size in enumerate(sizes)
    ]


def mean_sizes(states: Sequence[Sequence[int]]) -> list[float]:
    """Position-wise mean of several streams' stored sizes."""
    return [statistics.fmean(column) for column in zip(*states, strict=True)]


def bare_decode(recorder: Any, mapper: Any, page: int = 1000) -> int:
    """Read and decode every event of the log; returns how many."""
    count = 0
    start = 0
    while True:
        notifications = recorder.select_notifications(start, page, inclusive_of_start=False)
        for notification in notifications:
            mapper.to_domain_event(notification)
        count += len(notifications)
        if len(notifications) < page:
            return count
        start = notifications[-1].id


def new_ids(count: int) -> list[UUID]:
    return [uuid4() for _ in range(count)]
