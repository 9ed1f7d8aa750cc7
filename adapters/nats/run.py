"""``relay`` as functions: run it, get a summary back or a typed error (no CLI code here).

:func:`relay_once` publishes what the log holds and returns a :class:`RelaySummary`;
:func:`relay_until_stopped` follows the log until SIGINT or SIGTERM. Both validate the URL
first (:class:`NatsUrlError`) and raise :class:`NatsUnavailableError` (NATS unreachable),
:class:`RelayStreamError` (a wrong stream), :class:`UnpublishableEventError` or
:class:`~engine.errors.UnreadableEventError` (an event that cannot go out).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import asdict, dataclass
from typing import Any

from adapters.logging import get_logger
from adapters.nats.relay import Relay
from adapters.nats.subjects import DEFAULT_STREAM
from adapters.nats.urls import validate_nats_url
from engine.application import Desk

log = get_logger("deskledger.relay")

#: How long ``relay_once`` keeps retrying an unreachable NATS before giving up.
GIVE_UP_AFTER = 30.0


@dataclass(frozen=True)
class RelaySummary:
    """What a relay run did."""

    published: int
    stream: str
    nats_url: str
    position: int  # the log position the stream holds now
    checkpoints: int
    checkpoint_position: int | None
    checkpoint_head: str | None
    duplicates: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line for people."""
        text = (
            f"relay: published {self.published} events to stream {self.stream} at "
            f"{self.nats_url}; stream now at position {self.position}"
        )
        if self.checkpoint_position is not None and self.checkpoint_head is not None:
            text += f"; chain head {self.checkpoint_position}:{self.checkpoint_head} anchored"
        return text


def _summary(relay: Relay, published: int) -> RelaySummary:
    stats = relay.stats
    anchored = stats.last_checkpoint
    return RelaySummary(
        published=published,
        stream=relay.stream,
        nats_url=relay.nats_url,
        position=stats.position,
        checkpoints=stats.checkpoints,
        checkpoint_position=anchored[0] if anchored else None,
        checkpoint_head=anchored[1] if anchored else None,
        duplicates=stats.duplicates,
    )


def relay_once(
    desk: Desk,
    nats_url: str,
    stream: str = DEFAULT_STREAM,
    *,
    give_up_after: float | None = None,
    **options: Any,
) -> RelaySummary:
    """Publish everything the log holds (and anchor its chain head), then return."""
    relay = Relay(desk, validate_nats_url(nats_url), stream, **options)
    limit = GIVE_UP_AFTER if give_up_after is None else give_up_after
    published = asyncio.run(relay.run_once(give_up_after=limit))
    return _summary(relay, published)


def relay_until_stopped(
    desk: Desk, nats_url: str, stream: str = DEFAULT_STREAM, **options: Any
) -> RelaySummary:
    """Follow the log, publishing as events come, until SIGINT or SIGTERM."""
    relay = Relay(desk, validate_nats_url(nats_url), stream, **options)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        await relay.run_forever(stop)

    asyncio.run(main())
    log.info("relay.stopped", published=relay.stats.stored, position=relay.stats.position)
    return _summary(relay, relay.stats.stored)
