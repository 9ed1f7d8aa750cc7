"""The demo's delivery check: a queue view fed only from NATS, compared with the log.

Temporary: a projection will replace it. :class:`RemoteQueueView` is the subscriber in the
box — the open-work queue and the SLA breaches of the desk, built only from envelopes that
arrive over NATS, in a SQLite file. :func:`check_delivery` feeds it until it holds as many
events as the log and compares the two (position and hash of every event): what the demo
shows.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import structlog

from adapters.nats.subjects import DEFAULT_STREAM, is_policy_stream
from adapters.nats.subscriber import subscribe
from engine.application import Desk
from engine.envelope import Envelope

log = structlog.get_logger("deskledger.subscriber")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    position INTEGER PRIMARY KEY, ticket TEXT NOT NULL, type TEXT NOT NULL,
    version INTEGER NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
    ref TEXT PRIMARY KEY, kind TEXT, title TEXT, opened_at TEXT,
    state TEXT, state_version INTEGER NOT NULL DEFAULT 0,
    priority INTEGER, impact INTEGER, urgency INTEGER, priority_version INTEGER NOT NULL DEFAULT 0,
    assignment_group TEXT, assignee TEXT, tier INTEGER, assign_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS breaches (
    position INTEGER PRIMARY KEY, ticket TEXT NOT NULL, sla TEXT NOT NULL, breached_at TEXT
);
"""

_STATES = {
    "TicketOpened": "new",
    "WorkStarted": "in_progress",
    "PutOnHold": "on_hold",
    "Resumed": "in_progress",
    "Resolved": "resolved",
    "Reopened": "in_progress",
    "Closed": "closed",
    "Canceled": "canceled",
}
OPEN_STATES = ("new", "in_progress", "on_hold")


@dataclass(frozen=True)
class QueueRow:
    ref: str
    state: str
    priority: int | None
    assignment_group: str | None
    assignee: str | None
    title: str | None
    opened_at: str | None


@dataclass(frozen=True)
class Breach:
    ticket: str
    sla: str
    breached_at: str | None
    position: int


class RemoteQueueView:
    """Open work and SLA breaches built only from envelopes received over NATS (SQLite).

    :meth:`apply` records the envelope's position and its effect in one transaction and
    ignores a position it has seen: redeliveries have no second effect. Each group of
    columns (state, priority, assignment) remembers the ticket version that last wrote it
    and only takes newer ones, so envelopes arriving out of order give the same view.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a view: rebuildable, no fsync per event
        self._db.executescript(_SCHEMA)
        self._count = int(self._db.execute("SELECT count(*) FROM received").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- writing

    def apply(self, envelope: Envelope) -> bool:
        """Apply one envelope; False (and nothing changes) if its position was applied."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            inserted = db.execute(
                "INSERT OR IGNORE INTO received(position, ticket, type, version, hash) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    envelope.position,
                    envelope.ticket,
                    envelope.type,
                    envelope.version,
                    envelope.hash,
                ),
            ).rowcount
            if inserted:
                self._project(envelope)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._count += inserted
        if inserted and envelope.type == "SlaBreached":  # the notification, once
            data = envelope.data or {}
            log.warning(
                "subscriber.sla_breached",
                ticket=envelope.ticket,
                position=envelope.position,
                sla=data.get("name"),
                breached_at=data.get("breached_at"),
            )
        return bool(inserted)

    def _project(self, envelope: Envelope) -> None:
        kind, ref, version = envelope.type, envelope.ticket, envelope.version
        data: Mapping[str, Any] = envelope.data or {}
        if is_policy_stream(envelope.stream_id):
            return
        db = self._db
        db.execute("INSERT OR IGNORE INTO tickets(ref) VALUES (?)", (ref,))
        if kind == "TicketOpened":
            db.execute(
                "UPDATE tickets SET kind = ?, title = ?, opened_at = ? WHERE ref = ?",
                (data.get("kind"), data.get("title"), envelope.occurred_at, ref),
            )
            self._set(ref, "priority", version, priority=data.get("priority"),
                      impact=data.get("impact"), urgency=data.get("urgency"))  # fmt: skip
            self._set(ref, "assign", version, assignment_group=data.get("assignment_group"),
                      assignee=data.get("assignee"))  # fmt: skip
        if kind in _STATES:
            self._set(ref, "state", version, state=_STATES[kind])
        elif kind == "Assigned":
            self._set(ref, "assign", version, assignment_group=data.get("assignment_group"),
                      assignee=data.get("assignee"))  # fmt: skip
        elif kind == "FunctionallyEscalated":
            self._set(ref, "assign", version, assignment_group=data.get("assignment_group"),
                      assignee=None, tier=data.get("tier"))  # fmt: skip
        elif kind == "Reprioritized":
            self._set(ref, "priority", version, priority=data.get("priority"),
                      impact=data.get("impact"), urgency=data.get("urgency"))  # fmt: skip
        elif kind == "SlaBreached":
            db.execute(
                "INSERT OR IGNORE INTO breaches(position, ticket, sla, breached_at) "
                "VALUES (?, ?, ?, ?)",
                (envelope.position, ref, data.get("name"), data.get("breached_at")),
            )

    def _set(self, ref: str, group: str, version: int, **values: Any) -> None:
        """Write a column group if ``version`` is newer than the one that wrote it last."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        self._db.execute(
            f"UPDATE tickets SET {assignments}, {group}_version = ? "  # noqa: S608 - fixed names
            f"WHERE ref = ? AND {group}_version < ?",
            (*values.values(), version, ref, version),
        )

    # -------------------------------------------------------------- reading

    def received_count(self) -> int:
        """How many distinct positions were applied."""
        return self._count

    def received(self) -> list[tuple[int, str]]:
        """(position, hash) of every envelope applied, in position order."""
        return list(self._db.execute("SELECT position, hash FROM received ORDER BY position"))

    def queue(self) -> list[QueueRow]:
        """Open tickets by priority, then age."""
        rows = self._db.execute(
            "SELECT ref, state, priority, assignment_group, assignee, title, opened_at "
            "FROM tickets WHERE state IN ('new', 'in_progress', 'on_hold') "
            "ORDER BY priority IS NULL, priority, opened_at, ref"
        )
        return [QueueRow(*row) for row in rows]

    def breaches(self) -> list[Breach]:
        rows = self._db.execute(
            "SELECT ticket, sla, breached_at, position FROM breaches ORDER BY position"
        )
        return [Breach(*row) for row in rows]


# ---------------------------------------------------------------------- demo support


@dataclass(frozen=True)
class DeliveryReport:
    """What a subscriber received compared with the log."""

    received: int
    logged: int
    equal: bool
    missing: Sequence[int] = ()
    unexpected: Sequence[int] = ()
    seconds: float = 0.0


def logged_hashes(desk: Desk) -> list[tuple[int, str]]:
    """(position, hash) of every event the relay publishes, in position order."""
    return [(logged.position, logged.event.hash) for logged in desk.read_log()]


def compare(view: RemoteQueueView, desk: Desk, seconds: float = 0.0) -> DeliveryReport:
    """Compare what ``view`` received with the log, position by position and hash by hash."""
    logged = dict(logged_hashes(desk))
    received = dict(view.received())
    missing = sorted(p for p in logged if received.get(p) != logged[p])
    unexpected = sorted(p for p in received if p not in logged)
    return DeliveryReport(
        received=len(received),
        logged=len(logged),
        equal=not missing and not unexpected,
        missing=missing[:20],
        unexpected=unexpected[:20],
        seconds=round(seconds, 3),
    )


async def await_delivery(
    nats_url: str,
    desk: Desk,
    view: RemoteQueueView,
    *,
    durable: str = "deskledger-queue-view",
    stream: str = DEFAULT_STREAM,
    timeout: float = 30.0,
) -> DeliveryReport:
    """Feed ``view`` from NATS until it holds as many events as the log, then compare."""
    target = len(logged_hashes(desk))
    started = time.monotonic()
    async with subscribe(nats_url, durable, stream=stream) as events:
        await events.run(
            view.apply,
            until=lambda: view.received_count() >= target or time.monotonic() - started > timeout,
        )
    report = compare(view, desk, time.monotonic() - started)
    log.info(
        "subscriber.delivery_checked",
        received=report.received,
        logged=report.logged,
        equal=report.equal,
        seconds=report.seconds,
    )
    return report


def check_delivery(
    nats_url: str,
    desk: Desk,
    *,
    view_path: str | Path = ":memory:",
    durable: str = "deskledger-queue-view",
    stream: str = DEFAULT_STREAM,
    timeout: float = 30.0,
) -> tuple[DeliveryReport, RemoteQueueView]:
    """Sync form of :func:`await_delivery` for the demo: the report and the view it built."""
    view = RemoteQueueView(view_path)
    report = asyncio.run(
        await_delivery(nats_url, desk, view, durable=durable, stream=stream, timeout=timeout)
    )
    return report, view
