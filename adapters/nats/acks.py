"""The ack ledger: which published messages JetStream has confirmed, checked in order.

Every message the relay publishes carries ``Nats-Expected-Last-Sequence`` = the sequence of
the message before it, so JetStream stores message *n* only directly after message *n - 1*.
The relay asks for an ack on some messages (every one by default) with a reply subject
naming the stream sequence the message must get; :class:`AckLedger` matches the answers in
publication order. A good ack for sequence *s* proves every earlier message is stored, in
order; ``confirmed_*`` only move over an unbroken prefix of good acks, and the first bad one
(a nack, a wrong sequence, a timeout, a lost connection) fails the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from typing import NamedTuple

from adapters.nats.errors import RelayInterruptedError, UnpublishableEventError

#: JetStream error codes that no retry will change for this message.
_MESSAGE_TOO_LARGE = 10054  # larger than the stream's max_msg_size


class Expected(NamedTuple):
    """A message waiting for its ack, and what confirming it proves."""

    sequence: int
    position: int
    ticket: str | None  # None for a checkpoint
    events: int  # events published in this session up to and including this message
    checkpoints: int  # likewise, checkpoints
    head: str | None  # the chain head a checkpoint carries


class AckLedger:
    """The acks of the messages in flight, checked in publication order."""

    def __init__(self, stream: str, position: int, sequence: int) -> None:
        self.stream = stream
        self.confirmed_position = position
        self.confirmed_sequence = sequence
        self.confirmed_events = 0
        self.confirmed_checkpoints = 0
        self.last_checkpoint: tuple[int, str] | None = None
        self.duplicates = 0
        self.failure: BaseException | None = None
        self._expected: deque[Expected] = deque()
        self._early: dict[int, bytes] = {}
        self._target = 0
        self._wake = asyncio.Event()
        self._ack_prefix = f'{{"stream":{json.dumps(stream)},"seq":'.encode()

    def expect(self, expected: Expected) -> None:
        self._expected.append(expected)

    def fail(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error
        self._wake.set()

    def on_ack(self, sequence: int, payload: bytes) -> None:
        """The server's answer to the message meant to get ``sequence``."""
        if not self._expected or sequence != self._expected[0].sequence:
            self._early[sequence] = payload
            return
        self._confirm(payload)
        while self._expected and self._expected[0].sequence in self._early:
            self._confirm(self._early.pop(self._expected[0].sequence))
        if self.confirmed_sequence >= self._target:
            self._wake.set()

    def _confirm(self, payload: bytes) -> None:
        expected = self._expected.popleft()
        if self.failure is not None:
            return
        if payload == self._ack_prefix + str(expected.sequence).encode() + b"}":
            self._advance(expected)  # the common case, without parsing JSON
            return
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = {"error": {"description": f"unreadable ack {payload!r}"}}
        if "error" in answer:
            error = answer["error"]
            code, description = error.get("err_code"), error.get("description")
            if code == _MESSAGE_TOO_LARGE and expected.ticket is not None:
                self.fail(
                    UnpublishableEventError(
                        expected.position, expected.ticket, f"JetStream refused it: {description}"
                    )
                )
                return
            problem = f"JetStream refused it ({code}: {description})"
        elif answer.get("stream") != self.stream or answer.get("seq") != expected.sequence:
            problem = (
                f"expected stream {self.stream} sequence {expected.sequence}, "
                f"got {answer.get('stream')} sequence {answer.get('seq')}"
            )
        else:
            self.duplicates += bool(answer.get("duplicate"))
            self._advance(expected)
            return
        self.fail(
            RelayInterruptedError(problem, position=expected.position, ticket=expected.ticket)
        )

    def _advance(self, expected: Expected) -> None:
        self.confirmed_position = expected.position
        self.confirmed_sequence = expected.sequence
        self.confirmed_events = expected.events
        self.confirmed_checkpoints = expected.checkpoints
        if expected.head is not None:
            self.last_checkpoint = (expected.position, expected.head)

    async def wait_for(self, sequence: int, timeout: float) -> None:
        """Wait until every message up to stream ``sequence`` is confirmed; raise on failure."""
        deadline = time.monotonic() + timeout
        while self.confirmed_sequence < sequence and self.failure is None:
            self._target = sequence
            self._wake.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                first = self._expected[0] if self._expected else None
                self.fail(
                    RelayInterruptedError(
                        f"no ack within {timeout:g}s",
                        position=first.position if first else None,
                        ticket=first.ticket if first else None,
                    )
                )
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
        if self.failure is not None:
            raise self.failure
