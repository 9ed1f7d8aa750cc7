"""The JetStream stream: created on first use, and read back as the relay's progress record.

``ensure_stream`` creates ``DESKLEDGER`` (``deskledger.>``, file storage, a duplicate window
for ``Nats-Msg-Id``) unless it exists, and refuses a stream that would not capture the
relay's subjects. ``stream_head`` reads the stream's last message — an event or a checkpoint
— and ``last_checkpoint`` the last checkpoint of a store (one direct lookup by subject).
"""

from __future__ import annotations

from dataclasses import dataclass

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo

from adapters.nats.checkpoint import Checkpoint, is_checkpoint
from adapters.nats.codec import decode
from adapters.nats.errors import RelayStreamError
from adapters.nats.subjects import (
    DEFAULT_STREAM,
    HEADER_MSG_ID,
    HEADER_POSITION,
    STREAM_SUBJECTS,
    checkpoint_subject,
)

DUPLICATE_WINDOW = 300.0  # seconds JetStream remembers a Nats-Msg-Id
_SUBJECTS_OVERLAP = 10065  # JetStream err_code: subjects overlap with an existing stream


async def ensure_stream(
    js: JetStreamContext,
    name: str = DEFAULT_STREAM,
    *,
    duplicate_window: float = DUPLICATE_WINDOW,
) -> StreamInfo:
    """Create the stream (``deskledger.>``, file storage, dedupe window) unless it exists."""
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        pass
    else:
        subjects = set(info.config.subjects or ())
        if not set(STREAM_SUBJECTS) <= subjects:
            raise RelayStreamError(
                f"stream {name} exists but does not capture {', '.join(STREAM_SUBJECTS)} "
                f"(its subjects: {sorted(subjects)})"
            )
        return info
    config = StreamConfig(
        name=name,
        subjects=list(STREAM_SUBJECTS),
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        duplicate_window=duplicate_window,
        description="DeskLedger event log",
    )
    try:
        return await js.add_stream(config)
    except nats.js.errors.BadRequestError as error:
        if error.err_code == _SUBJECTS_OVERLAP:
            owner = await _stream_owning_subjects(js)
            raise RelayStreamError(
                f"cannot create stream {name}: {STREAM_SUBJECTS[0]} is already captured by "
                f"stream {owner}; relay to that stream with --stream {owner}, or delete it"
            ) from error
        raise


async def _stream_owning_subjects(js: JetStreamContext) -> str:
    try:
        return await js.find_stream_name_by_subject(STREAM_SUBJECTS[0])
    except nats.js.errors.NotFoundError:
        return "(unknown)"


@dataclass(frozen=True)
class StreamHead:
    """Where the stream ends.

    ``sequence`` is its last sequence (0 if never written); ``position`` the log position its
    last message covers (0 when empty); ``msg_id`` that message's ``Nats-Msg-Id``;
    ``event_hash`` the hash the stream holds for the event at ``position``, and
    ``checkpoint`` the checkpoint when the last message is one.
    """

    sequence: int
    position: int = 0
    msg_id: str = ""
    event_hash: str | None = None
    checkpoint: Checkpoint | None = None


async def stream_head(js: JetStreamContext, name: str) -> StreamHead:
    """Read the stream's last message: an event (its envelope) or a checkpoint."""
    info = await js.stream_info(name)
    if info.state.messages == 0:
        return StreamHead(info.state.last_seq)
    message = await js.get_msg(name, seq=info.state.last_seq)
    headers = message.headers or {}
    where = f"the last message of stream {name} (sequence {info.state.last_seq}, subject "
    try:
        position = int(headers[HEADER_POSITION])
        if is_checkpoint(headers):
            checkpoint = Checkpoint.from_message(message.data or b"", headers)
            event_hash = checkpoint.event_hash
        else:
            checkpoint, event_hash = None, decode(message.data or b"{}").hash
    except (KeyError, ValueError) as error:
        raise RelayStreamError(
            f"{where}{message.subject}) is not a DeskLedger event or checkpoint ({error!r}): "
            "it was not published by the DeskLedger relay"
        ) from None
    return StreamHead(
        info.state.last_seq, position, headers.get(HEADER_MSG_ID, ""), event_hash, checkpoint
    )


async def last_checkpoint(
    js: JetStreamContext, name: str, store_id: str
) -> tuple[Checkpoint, int] | None:
    """The last checkpoint of ``store_id`` on the stream and its sequence, or ``None``."""
    try:
        message = await js.get_last_msg(name, checkpoint_subject(store_id))
    except nats.js.errors.NotFoundError:
        return None
    try:
        return Checkpoint.from_message(message.data or b"", message.headers), int(message.seq or 0)
    except ValueError as error:
        raise RelayStreamError(
            f"stream {name}: the last checkpoint of store {store_id} is unreadable: {error}"
        ) from None
