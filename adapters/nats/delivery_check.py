"""The demo's delivery check: what a replica fed over NATS received, compared with the log.

:func:`check_delivery` feeds a :class:`~adapters.nats.replica.Replica` from the stream until
its views hold as many events as the log, then compares the two position by position and
hash by hash. The replica it returns answers the same queries as the store's own views.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from adapters.nats.replica import DEFAULT_DURABLE, Replica
from adapters.nats.subjects import DEFAULT_STREAM
from engine.application import Desk

log = structlog.get_logger("deskledger.subscriber")


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


def compare(replica: Replica, desk: Desk, seconds: float = 0.0) -> DeliveryReport:
    """Compare what ``replica`` applied with the log, position by position and hash by hash."""
    logged = dict(logged_hashes(desk))
    received = dict(replica.received())
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
    replica: Replica,
    *,
    durable: str = DEFAULT_DURABLE,
    stream: str = DEFAULT_STREAM,
    timeout: float = 30.0,
) -> DeliveryReport:
    """Feed ``replica`` from NATS until it holds as many events as the log, then compare."""
    target = len(logged_hashes(desk))
    started = time.monotonic()
    await replica.follow(
        nats_url,
        durable,
        stream=stream,
        until=lambda: replica.received_count() >= target or time.monotonic() - started > timeout,
    )
    report = compare(replica, desk, time.monotonic() - started)
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
    replica_path: str | Path | None = None,
    durable: str = DEFAULT_DURABLE,
    stream: str = DEFAULT_STREAM,
    timeout: float = 30.0,
) -> tuple[DeliveryReport, Replica]:
    """Sync form of :func:`await_delivery` for the demo: the report and the replica it fed
    (in memory when ``replica_path`` is None; the caller closes it)."""
    replica = Replica(replica_path, clock=desk.clock)
    report = asyncio.run(
        await_delivery(nats_url, desk, replica, durable=durable, stream=stream, timeout=timeout)
    )
    return report, replica
