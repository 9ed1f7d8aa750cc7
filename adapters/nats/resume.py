"""Where a relay continues: the stream's last message, checked against the log, and the
chain head at it.

The stream is the relay's progress record. Its last message — an event or a checkpoint —
says which log position it holds; that message must come from this store (its
``Nats-Msg-Id`` prefix) and carry the hash of the log's event at that position. The chain
head there comes from the store's last checkpoint on the stream, checked the same way (the
``DeskLedger-Event-Hash`` it carries), carried forward over the events published after it:
at most N events and a minute's worth are read, never the log from the start — except once,
for a stream filled before checkpoints existed.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from adapters.nats.codec import LogReader
from adapters.nats.errors import RelayInterruptedError, RelayStreamError
from adapters.nats.stream import last_checkpoint, stream_head
from engine.audit import GENESIS


@dataclass(frozen=True)
class ResumePoint:
    """The stream's last sequence and the log position, event hash and chain head there."""

    sequence: int
    position: int
    digest: str | None  # the hash of the event at ``position``
    head: str  # the chain head at ``position``
    anchored: int  # the position of the last checkpoint (0: none)


async def resume_point(
    js: JetStreamContext, stream: str, reader: LogReader, store_id: str | None
) -> ResumePoint:
    """Where to continue publishing the log of ``store_id`` (None: the log is empty)."""
    head = await stream_head(js, stream)
    if head.position == 0:
        return ResumePoint(head.sequence, 0, None, GENESIS, 0)
    if store_id is None or not head.msg_id.startswith(f"{store_id}:"):
        raise RelayStreamError(
            f"stream {stream} holds events of another store (last message id "
            f"{head.msg_id!r}, this store is {store_id or 'empty'}); purge it "
            f"(`nats stream purge {stream}`) or use another NATS server"
        )
    _check_against_log(reader, stream, head.position, head.event_hash, "its last message")
    anchor = head.checkpoint
    if anchor is None and (found := await last_checkpoint(js, stream, store_id)):
        anchor, sequence = found
        if sequence > head.sequence:  # another relay published meanwhile: look again
            raise RelayInterruptedError("the stream moved on while the relay resumed")
    if anchor is None:
        start, chain = 0, GENESIS
    else:
        if anchor.position > head.position:
            raise RelayStreamError(
                f"stream {stream}: its last checkpoint (position {anchor.position}) "
                f"is after its last event (position {head.position})"
            )
        _check_against_log(
            reader, stream, anchor.position, anchor.event_hash, "its last checkpoint"
        )
        start, chain = anchor.position, anchor.head
    chain = reader.chain(chain, start, head.position)
    return ResumePoint(head.sequence, head.position, head.event_hash, chain, start)


def _check_against_log(
    reader: LogReader, stream: str, position: int, digest: str | None, what: str
) -> None:
    page = reader.read(position - 1, 1)
    if page.unreadable is not None:
        raise page.unreadable
    if not page.entries or page.entries[0].position != position:
        raise RelayStreamError(
            f"stream {stream} is ahead of the log: {what} is at position {position}, "
            "which the log does not have"
        )
    if digest is not None and digest != page.entries[0].digest:
        raise RelayStreamError(
            f"stream {stream}: the event at position {position} differs from the "
            f"log's ({what}: hash mismatch); the stream holds another history"
        )
