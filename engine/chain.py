"""Aggregates whose events form a SHA-256 hash chain, with the envelope of SPEC §6."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from engine.audit import GENESIS, event_hash


@dataclass(frozen=True)
class Stamp:
    """Who did it, when it happened and when it was recorded: the data every command carries."""

    occurred_at: datetime
    actor: str
    recorded_at: datetime
    command_id: str | None = None
    source: dict[str, Any] | None = None
    explicit: bool = True  # the caller gave the time (not the clock's "now")


class LedgerEvent(Aggregate.Event):
    """The envelope every DeskLedger event carries, and its link in the stream's hash chain.

    ``ref`` names the stream (a ticket ref, or ``policy``); ``timestamp`` (from the library)
    is when the event was recorded; ``occurred_at`` is business time from the injected clock.
    """

    ref: str
    occurred_at: datetime
    actor: str
    command_id: str | None
    reason: str | None
    source: dict[str, Any] | None
    prev_hash: str
    hash: str

    def apply(self, aggregate: Any) -> None:
        aggregate.head_hash = self.hash
        aggregate.last_occurred_at = self.occurred_at
        if self.command_id is not None:
            aggregate.command_ids[self.command_id] = self.originator_version


ENVELOPE_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "ref",
        "occurred_at",
        "actor",
        "command_id",
        "reason",
        "source",
        "prev_hash",
        "hash",
    }
)


def _envelope(stamp: Stamp, ref: str, prev_hash: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The envelope fields of a new (unsealed) event, merged with its own ``fields``."""
    return {
        "reason": None,
        **fields,
        "timestamp": stamp.recorded_at,
        "ref": ref,
        "occurred_at": stamp.occurred_at,
        "actor": stamp.actor,
        "command_id": stamp.command_id,
        "source": stamp.source,
        "prev_hash": prev_hash,
        "hash": "",
    }


def seal(draft: LedgerEvent) -> LedgerEvent:
    """Return the draft event with its ``hash`` filled in."""
    return dataclasses.replace(draft, hash=event_hash(draft))  # type: ignore[call-arg]


class Chained(Aggregate):
    """Base for aggregates whose events are chained; keeps the chain head and command ids.

    (No class-level annotations here: eventsourcing would turn them into constructor fields.)
    """

    def _init_chain(self) -> None:
        self.ref: str = getattr(self, "ref", "")
        self.head_hash: str = GENESIS
        self.last_occurred_at: datetime | None = None
        self.command_ids: dict[str, int] = {}

    def _record(self, event_class: type[LedgerEvent], stamp: Stamp, **fields: Any) -> None:
        """Create the next event, link it into the hash chain, apply it, keep it pending."""
        draft = event_class(
            originator_id=self.id,
            originator_version=self.version + 1,
            **_envelope(stamp, self.ref, self.head_hash, fields),
        )
        event = seal(draft)
        event.mutate(self)
        self.pending_events.append(event)

    @classmethod
    def _start_stream(
        cls,
        event_class: type[LedgerEvent],
        stamp: Stamp,
        *,
        originator_id: Any,
        ref: str,
        **fields: Any,
    ) -> Any:
        """Create a new aggregate from its first event (the head of its hash chain)."""
        draft = event_class(  # type: ignore[call-arg]
            originator_topic=get_topic(cls),
            originator_id=originator_id,
            originator_version=cls.INITIAL_VERSION,
            **_envelope(stamp, ref, GENESIS, fields),
        )
        event = seal(draft)
        aggregate = event.mutate(None)
        if not isinstance(aggregate, cls):  # pragma: no cover - the topic names cls
            raise TypeError(f"{event_class.__name__} did not construct a {cls.__name__}")
        aggregate.pending_events.append(event)
        return aggregate

    def has_seen(self, command_id: str | None) -> bool:
        """Whether a command with this id was already applied (idempotent retries)."""
        return command_id is not None and command_id in self.command_ids
