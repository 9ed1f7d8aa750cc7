"""Snapshots of tickets: their transcodings, their digests, and the check before a read.

Snapshots only speed up loading a ticket with a long history: ``Desk`` takes one every
:data:`SNAPSHOT_INTERVAL` events. A snapshot is a cache, never evidence: a read uses it only
after checking it (:class:`VerifiedSnapshots`), ``verify`` checks every one against the state
its events produce, and audit, as-of reads and verify read the events themselves.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Self
from uuid import UUID

from eventsourcing.domain import Snapshot
from eventsourcing.persistence import EventStore, Transcoding
from eventsourcing.utils import get_topic

from engine.canonical import MAX_SAFE_INTEGER, canonical_json, unchecked_plain_json
from engine.isotext import iso_text
from engine.sla import Phase, SlaTerms, SlaTimer

SNAPSHOT_INTERVAL = 100


class PhaseAsDict(Transcoding):
    type = Phase
    name = "deskledger_phase"

    def encode(self, obj: Phase) -> dict[str, Any]:
        return {"at": obj.at, "state": obj.state, "hold_reason": obj.hold_reason}

    def decode(self, data: dict[str, Any]) -> Phase:
        return Phase(**data)


class SlaTimerAsDict(Transcoding):
    type = SlaTimer
    name = "deskledger_sla_timer"

    def encode(self, obj: SlaTimer) -> dict[str, Any]:
        return {
            "terms": obj.terms.as_fields(),
            "policy_version": obj.policy_version,
            "started_at": obj.started_at,
            "retroactive": obj.retroactive,
            "canceled_at": obj.canceled_at,
            "warnings_recorded": list(obj.warnings_recorded),
            "breach_recorded": obj.breach_recorded,
        }

    def decode(self, data: dict[str, Any]) -> SlaTimer:
        # Snapshots taken before SlaTerms kept the terms flat and spelled "cancelled_at".
        terms = data.get("terms", data)
        return SlaTimer(
            terms=SlaTerms.from_fields(terms),
            policy_version=data["policy_version"],
            started_at=data["started_at"],
            retroactive=data["retroactive"],
            canceled_at=data.get("canceled_at", data.get("cancelled_at")),
            warnings_recorded=list(data["warnings_recorded"]),
            breach_recorded=data["breach_recorded"],
        )


# ---------------------------------------------------------------------- verified snapshots


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an aggregate's snapshot state.

    The state of a long ticket is large (every command id it was given, every phase), and
    every read of it through a snapshot checks this digest: :func:`_usual` writes the usual
    shapes in one walk; anything else takes :func:`_plain` and :func:`canonical_json`, which
    define the digest (both give the same bytes: see ``tests/test_snapshots.py``)."""
    usual = _usual(state)
    if usual is _UNUSUAL:
        return hashlib.sha256(canonical_json(_plain(dict(state)))).hexdigest()
    try:
        text = unchecked_plain_json(usual).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: canonical_json says why it has no digest
        return hashlib.sha256(canonical_json(_plain(dict(state)))).hexdigest()
    return hashlib.sha256(text).hexdigest()


#: What :func:`_usual` returns for a value it leaves to :func:`_plain`.
_UNUSUAL: Any = object()
_TEXT_OR_NOTHING = frozenset({str, bool, type(None)})
_SAFE_LOW, _SAFE_HIGH = -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER
#: Leaves by exact type, and how :func:`_plain` writes them; text enums join on first sight.
_LEAVES: dict[type, Callable[[Any], Any]] = {datetime: iso_text, UUID: UUID.__str__}
#: Per dataclass of two fields or more, all ASCII: its fields' names (as :func:`_plain` walks them).
_FIELDS: dict[type, tuple[str, ...]] = {}


def _usual(value: Any) -> Any:
    """:func:`_plain` of ``value`` when it is made only of exact JSON types (ASCII keys, safe
    integers), text enums, datetimes, UUIDs and dataclasses of those, checked on the way:
    then :func:`unchecked_plain_json` writes the canonical JSON :func:`canonical_json` would.
    Else :data:`_UNUSUAL` (a float, a subclass, a non-ASCII key, another type). Leaves are
    written in place: a long ticket's state is mostly short lists and phases of them."""
    kind = type(value)
    if kind in _TEXT_OR_NOTHING:
        return value
    leaf = _LEAVES.get(kind)
    if leaf is not None:
        return leaf(value)
    names = _FIELDS.get(kind)
    if names is not None:  # a dataclass seen before (a phase, a timer, its terms)
        return _members(zip(names, attrgetter(*names)(value), strict=True))
    if kind is int:
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else _UNUSUAL
    if kind is dict:
        return _members(value.items())
    if kind is list or kind is tuple:
        for index, item in enumerate(value):
            kind = type(item)
            if kind in _TEXT_OR_NOTHING or (kind is int and _SAFE_LOW <= item <= _SAFE_HIGH):
                continue
            items = list(value[:index])  # not only leaves: the rest converted, one by one
            for rest in value[index:]:
                plain = _usual(rest)
                if plain is _UNUSUAL:
                    return _UNUSUAL
                items.append(plain)
            return items
        return value  # leaves only (a command id's entry): the encoder reads it as it is
    if isinstance(value, str):  # a text enum: its text, as _plain writes it
        _LEAVES[kind] = str
        return str(value)
    if isinstance(value, int):  # an IntEnum member: its number, as canonical_json writes it
        return _usual(int(int.__repr__(value)))
    if not dataclasses.is_dataclass(kind):
        return _UNUSUAL
    names = tuple(f.name for f in dataclasses.fields(kind))
    if len(names) < 2 or not all(map(str.isascii, names)):
        return _UNUSUAL  # (one field: attrgetter would not give a tuple)
    _FIELDS[kind] = names
    return _usual(value)


def _members(pairs: Iterable[tuple[Any, Any]]) -> Any:
    """:func:`_usual` of a JSON object's ``(key, value)`` pairs."""
    members = {}
    for key, item in pairs:
        if type(key) is not str or not key.isascii():
            return _UNUSUAL
        plain = item
        if type(item) not in _TEXT_OR_NOTHING:
            leaf = _LEAVES.get(type(item))
            plain = leaf(item) if leaf is not None else _usual(item)
            if plain is _UNUSUAL:
                return _UNUSUAL
        members[key] = plain
    return members


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return repr(value)


@dataclass(frozen=True)
class TicketSnapshot(Snapshot):
    """A ticket's state at a version, with the digest of that state.

    The state records ``head_hash``: the hash of the event it summarises. A read uses the
    snapshot only when its state still has its digest and that event still has that hash
    (:class:`VerifiedSnapshots`); ``verify`` replays the events and compares the whole state.
    """

    digest: str

    @classmethod
    def take(cls, aggregate: Any) -> Self:
        state = snapshot_state(aggregate)
        return cls(
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=cls.create_timestamp(),
            topic=get_topic(type(aggregate)),
            state=state,
            digest=state_digest(state),
        )


def snapshot_state(aggregate: Any) -> dict[str, Any]:
    """An aggregate's state as a snapshot records it."""
    state = dict(vars(aggregate))
    class_version = getattr(type(aggregate), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    for private in ("_id", "_version", "_pending_events"):
        state.pop(private, None)
    return state


def snapshot_problem(snapshot: Any, event: Any) -> str | None:
    """Why ``snapshot`` must not be used (None: it may), given the event at its version."""
    if not isinstance(snapshot, TicketSnapshot):
        return "taken before snapshots were verified"
    if state_digest(snapshot.state) != snapshot.digest:
        return "its state does not match its digest (edited after it was taken)"
    if event is None or getattr(event, "hash", None) != snapshot.state.get("head_hash"):
        return "it does not summarise the event stored at its version"
    return None


IgnoredSnapshot = Callable[[UUID, int, str], None]


class VerifiedSnapshots:
    """The snapshot store a repository reads through: a snapshot that fails
    :func:`snapshot_problem` is skipped (the ticket is rebuilt from its events) and
    ``on_ignored(stream, version, why)`` is told."""

    def __init__(
        self, snapshots: EventStore[UUID], events: EventStore[UUID], on_ignored: IgnoredSnapshot
    ) -> None:
        self._snapshots = snapshots
        self._events = events
        self._on_ignored = on_ignored

    def put(self, *args: Any, **kwargs: Any) -> Any:
        return self._snapshots.put(*args, **kwargs)

    def get(self, originator_id: UUID, **options: Any) -> Iterator[Any]:
        for snapshot in self._snapshots.get(originator_id, **options):
            version = snapshot.originator_version
            event = next(iter(self._events.get(originator_id, gt=version - 1, lte=version)), None)
            why = snapshot_problem(snapshot, event)
            if why is None:
                yield snapshot
            else:
                self._on_ignored(originator_id, version, why)
