"""The demo's delivery check: what a replica fed over NATS received, compared with the log.

:func:`check_delivery` feeds a :class:`~adapters.nats.replica.Replica` from the stream until
its views hold as many events as the log, then compares the two position by position and
hash by hash. The replica it returns answers the same queries as the store's own views.
:class:`SubscriberThread` does the same with a replica that follows the stream while the
desk is still writing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from adapters.logging import get_logger
from adapters.nats.replica import DEFAULT_DURABLE, Replica
from adapters.nats.subjects import DEFAULT_STREAM
from engine.application import Desk

log = get_logger("deskledger.subscriber")


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


class SubscriberThread:
    """A replica following the stream in a background thread while the desk writes.

    Use as a context manager; :meth:`finish` waits until the replica holds every event of
    the log (or ``timeout`` passes) and compares the two. The replica stays open for queries
    until the context ends.
    """

    def __init__(
        self,
        nats_url: str,
        desk: Desk,
        *,
        replica_path: str | Path | None = None,
        durable: str = DEFAULT_DURABLE,
        stream: str = DEFAULT_STREAM,
    ) -> None:
        self.nats_url, self.desk, self.durable, self.stream = nats_url, desk, durable, stream
        self.replica = Replica(replica_path, clock=desk.clock)
        self.error: BaseException | None = None
        self._target: int | None = None
        self._deadline = float("inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="deskledger-subscriber")

    def _done(self) -> bool:
        if self._stop.is_set():
            return True
        if self._target is None:
            return False
        return self.replica.received_count() >= self._target or time.monotonic() > self._deadline

    def _main(self) -> None:
        follow = self.replica.follow(
            self.nats_url, self.durable, stream=self.stream, until=self._done
        )
        try:
            asyncio.run(follow)
        except BaseException as error:  # noqa: BLE001 - kept for finish() to raise
            self.error = error

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def finish(self, timeout: float = 30.0) -> DeliveryReport:
        """Wait until the replica holds the whole log, then compare it with the log."""
        started = time.monotonic()
        self._deadline = started + timeout
        self._target = len(logged_hashes(self.desk))
        self._thread.join(timeout + 10)
        if self.error is not None:
            raise self.error
        report = compare(self.replica, self.desk, time.monotonic() - started)
        log.info("subscriber.delivery_checked", received=report.received, equal=report.equal)
        return report

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        self.replica.close()
