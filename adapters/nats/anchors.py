"""Reading anchored chain heads back: for ``verify --against-nats`` and an auditor's recorder.

:func:`read_anchored_heads` lists every checkpoint a store's relay published on the stream,
as ``(position, head, taken_at)`` in stream order. :class:`CheckpointRecorder` is the
auditor's side: a durable consumer of ``deskledger.checkpoint.>`` (or one store's subject)
that appends each checkpoint body it receives to a JSON Lines file, flushed to disk before
the message is acknowledged, once per (store, position) however often it is redelivered.
:func:`read_recorded_heads` reads such a file back.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.logging import get_logger
from adapters.nats.checkpoint import Checkpoint
from adapters.nats.errors import NatsUnavailableError, RelayStreamError
from adapters.nats.subjects import CHECKPOINT_SUBJECTS, DEFAULT_STREAM, checkpoint_subject
from adapters.nats.urls import server_list

log = get_logger("deskledger.anchors")


class AnchoredHead(NamedTuple):
    """A chain head some relay anchored: the log up to ``position`` had chain head ``head``."""

    position: int
    head: str
    taken_at: str


@asynccontextmanager
async def _connected(nats_url: str, timeout: float) -> AsyncIterator[NatsClient]:
    servers = server_list(nats_url)
    try:
        nc = await asyncio.wait_for(
            nats.connect(servers=servers, allow_reconnect=False, max_reconnect_attempts=1),
            timeout,
        )
    except (TimeoutError, OSError, nats.errors.Error) as error:
        raise NatsUnavailableError(
            f"no NATS server answers at {nats_url}: {error or 'timeout'}"
        ) from None
    try:
        yield nc
    finally:
        await nc.close()


async def fetch_anchored_heads(
    nats_url: str, store_id: str, *, stream: str = DEFAULT_STREAM, timeout: float = 10.0
) -> list[AnchoredHead]:
    """Every checkpoint of ``store_id`` on ``stream``, in stream order."""
    subject = checkpoint_subject(store_id)
    async with _connected(nats_url, timeout) as nc:
        js = nc.jetstream(timeout=timeout)
        try:
            info = await js.stream_info(stream, subjects_filter=subject)
        except nats.js.errors.NotFoundError:
            raise RelayStreamError(f"stream {stream} does not exist at {nats_url}") from None
        if not (info.state.subjects or {}).get(subject):
            return []
        heads: list[AnchoredHead] = []
        sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
        try:
            while True:
                message = await sub.next_msg(timeout=timeout)
                checkpoint = Checkpoint.from_message(message.data, message.headers)
                heads.append(
                    AnchoredHead(checkpoint.position, checkpoint.head, checkpoint.taken_at)
                )
                if message.metadata.num_pending == 0:
                    return heads
        finally:
            await sub.unsubscribe()


def read_anchored_heads(
    nats_url: str, store_id: str, stream: str = DEFAULT_STREAM, *, timeout: float = 10.0
) -> list[AnchoredHead]:
    """Sync form of :func:`fetch_anchored_heads` (for ``verify --against-nats``)."""
    return asyncio.run(fetch_anchored_heads(nats_url, store_id, stream=stream, timeout=timeout))


class CheckpointRecorder:
    """Appends every checkpoint received to ``path`` (JSON Lines), each once."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        nats_url: str,
        *,
        store_id: str | None = None,
        durable: str = "deskledger-checkpoint-recorder",
        stream: str = DEFAULT_STREAM,
        timeout: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self.nats_url = nats_url
        self.subject = checkpoint_subject(store_id) if store_id else CHECKPOINT_SUBJECTS
        self.durable = durable
        self.stream = stream
        self.timeout = timeout
        self.recorded = 0
        self._seen = {(store, position) for store, position, _ in _recorded(self.path)}

    async def run(
        self, *, stop: asyncio.Event | None = None, until: Callable[[], bool] | None = None
    ) -> int:
        """Record checkpoints until ``stop`` is set or ``until()``; return how many were new."""
        before = self.recorded
        async with _connected(self.nats_url, self.timeout) as nc:
            js = nc.jetstream(timeout=self.timeout)
            config = ConsumerConfig(
                durable_name=self.durable,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                filter_subject=self.subject,
                description="DeskLedger checkpoint recorder",
            )
            pull = await js.pull_subscribe(
                self.subject, self.durable, stream=self.stream, config=config
            )
            while not (stop is not None and stop.is_set()) and not (until is not None and until()):
                try:
                    messages = await pull.fetch(100, timeout=0.2)
                except nats.errors.TimeoutError:
                    continue
                for message in messages:
                    await self._record(message)
        return self.recorded - before

    async def _record(self, message: Msg) -> None:
        try:
            checkpoint = Checkpoint.from_message(message.data, message.headers)
        except ValueError as error:
            log.error(  # noqa: TRY400 - a bad message, not a bug: no traceback wanted
                "anchors.not_a_checkpoint", subject=message.subject, error=str(error)
            )
            await message.term()
            return
        key = (checkpoint.store_id, checkpoint.position)
        if key not in self._seen:
            with self.path.open("a", encoding="utf-8") as file:
                file.write(json.dumps(checkpoint.body(), separators=(",", ":")) + "\n")
                file.flush()
                os.fsync(file.fileno())
            self._seen.add(key)
            self.recorded += 1
        await message.ack()


def _recorded(path: Path) -> Iterator[tuple[str, int, AnchoredHead]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as file:
        for line in file:
            if line.strip():
                checkpoint = Checkpoint.from_body(json.loads(line))
                head = AnchoredHead(checkpoint.position, checkpoint.head, checkpoint.taken_at)
                yield checkpoint.store_id, checkpoint.position, head


def read_recorded_heads(
    path: str | os.PathLike[str], store_id: str | None = None
) -> list[AnchoredHead]:
    """The heads a :class:`CheckpointRecorder` wrote to ``path`` (of one store, if given)."""
    return [
        head for store, _, head in _recorded(Path(path)) if store_id is None or store == store_id
    ]
