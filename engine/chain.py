"""Aggregates whose events form a SHA-256 hash chain, with the envelope of docs/concepts.md.

Every event records, besides its own fields, who did it and when (:class:`Stamp`), and its
link in its stream's chain: ``prev_hash`` (the previous event's ``hash``, or 64 zeros) and
``hash``, taken over the event's envelope as ``docs/hash-format.md`` defines (format 2:
SHA-256 of the RFC 8785 canonical JSON of the envelope without ``hash``, ``position`` and
``version``). Events written before format 2 are read as format 1 (an upcast fills in
``format`` and ``command_digest``) and keep verifying by format 1's rules.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from inspect import signature
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from engine.envelope import HASH_FORMAT, draft_content, hashed_line
from engine.hashformat import GENESIS, content_hash, line_hash


@dataclass(frozen=True)
class Stamp:
    """Who did it, when it happened and when it was recorded: the data every command carries.

    ``command_digest`` binds a ``command_id`` to the command and fields it was given to.
    """

    occurred_at: datetime
    actor: str
    recorded_at: datetime
    command_id: str | None = None
    source: dict[str, Any] | None = None
    explicit: bool = True  # the caller gave the time (not the clock's "now")
    command_digest: str | None = None
    command: str | None = None


class LedgerEvent(Aggregate.Event):
    """The envelope every DeskLedger event carries, and its link in the hash chain.

    ``ref`` names the stream (a ticket ref, or ``policy``); ``timestamp`` (from the library)
    is when the event was recorded; ``occurred_at`` is business time from the injected clock.
    """

    #: Version 2 added ``format`` and ``command_digest`` (see :meth:`upcast_v1_v2`).
    class_version: ClassVar[int] = 2
    #: The aggregate a stream's first event creates (for events rebuilt from envelopes).
    topic_of_stream: ClassVar[str | None] = None

    ref: str
    occurred_at: datetime
    actor: str
    command_id: str | None
    command_digest: str | None
    reason: str | None
    source: dict[str, Any] | None
    format: int
    prev_hash: str
    hash: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Events stored before format 2: hashed by format 1, no command digest."""
        state["format"] = 1
        state["command_digest"] = None

    def apply(self, aggregate: Any) -> None:
        aggregate.head_hash = self.hash
        aggregate.last_occurred_at = self.occurred_at
        if self.command_id is not None:
            aggregate.command_ids[self.command_id] = [
                self.originator_version,
                self.command_digest,
                type(self).__name__,
            ]


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
        "command_digest": stamp.command_digest if stamp.command_id is not None else None,
        "source": stamp.source,
        "format": HASH_FORMAT,
        "prev_hash": prev_hash,
        "hash": "",
    }


def seal(draft: LedgerEvent) -> LedgerEvent:
    """Return the draft event with its ``hash`` filled in (format 2)."""
    return dataclasses.replace(draft, hash=line_hash(hashed_line(draft)))  # type: ignore[call-arg]


def sealed(event_class: type[LedgerEvent], fields: dict[str, Any]) -> LedgerEvent:
    """The event ``event_class(**fields)`` with its ``hash`` (format 2) filled in: hashed
    from its fields, then built once (the same hash :func:`seal` gives the built draft)."""
    try:
        content = draft_content(event_class, fields)
    except KeyError:  # a field left to its default: hash the built event
        content = None
    digest = None if content is None else content_hash(content)
    if digest is None:  # an unusual value: the built event's line says how it is hashed
        return seal(event_class(**fields))
    fields["hash"] = digest
    return _built(event_class, fields)


#: Per event class: its constructor's fields in order, or None when it cannot be built by
#: :func:`_built` (a field the constructor does not take, or one the class itself defines).
_INIT_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _init_fields(event_class: type[LedgerEvent]) -> tuple[str, ...] | None:
    names = _INIT_FIELDS.get(event_class, ())
    if names == ():
        found = dataclasses.fields(event_class)
        usual = (
            event_class.__dictoffset__ != 0  # its instances keep their attributes in a dict
            and [f.name for f in found if f.init]
            == [*signature(event_class.__init__).parameters][1:]
            and not any(f.name in vars(klass) for f in found for klass in event_class.__mro__)
        )
        names = _INIT_FIELDS[event_class] = tuple(f.name for f in found) if usual else None
    return names


def _built(event_class: type[LedgerEvent], fields: dict[str, Any]) -> LedgerEvent:
    """``event_class(**fields)``: the event's attributes set in its fields' order, then its
    ``__post_init__``, as the frozen dataclass's constructor does, without the constructor's
    call of ``object.__setattr__`` per field (every event of an import is built here, with
    fifteen fields or more). Any other call (a field left out, one too many) goes to the
    constructor, which says what is wrong."""
    names = _init_fields(event_class)
    if names is None or len(names) != len(fields):
        return event_class(**fields)
    try:
        state = {name: fields[name] for name in names}
    except KeyError:
        return event_class(**fields)
    event = object.__new__(event_class)
    vars(event).update(state)
    event.__post_init__()
    return event


class Chained(Aggregate):
    """Base for aggregates whose events are chained; keeps the chain head and command ids.

    (No class-level annotations here: eventsourcing would turn them into constructor fields.)
    """

    def _init_chain(self) -> None:
        self.ref: str = getattr(self, "ref", "")
        self.head_hash: str = GENESIS
        self.last_occurred_at: datetime | None = None
        self.command_ids: dict[str, Any] = {}

    def _record(self, event_class: type[LedgerEvent], stamp: Stamp, **fields: Any) -> None:
        """Create the next event, link it into the hash chain, apply it, keep it pending."""
        draft = _envelope(stamp, self.ref, self.head_hash, fields)
        draft["originator_id"] = self.id
        draft["originator_version"] = self.version + 1
        event = sealed(event_class, draft)
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
        draft = _envelope(stamp, ref, GENESIS, fields)
        draft["originator_topic"] = get_topic(cls)
        draft["originator_id"] = originator_id
        draft["originator_version"] = cls.INITIAL_VERSION
        event = sealed(event_class, draft)
        aggregate = event.mutate(None)
        if not isinstance(aggregate, cls):  # pragma: no cover - the topic names cls
            raise TypeError(f"{event_class.__name__} did not construct a {cls.__name__}")
        aggregate.pending_events.append(event)
        return aggregate

    def seen_command(self, command_id: str | None) -> tuple[int, str | None, str] | None:
        """(version, digest, event type) of the command with this id, if it was applied."""
        if command_id is None or command_id not in self.command_ids:
            return None
        found = self.command_ids[command_id]
        if isinstance(found, int):  # state from before command digests (a snapshot)
            return found, None, "an earlier command"
        version, digest, event_type = found
        return int(version), digest, str(event_type)

    def has_seen(self, command_id: str | None) -> bool:
        """Whether a command with this id was already applied (idempotent retries)."""
        return self.seen_command(command_id) is not None
